"""Locust glue that streams one sample per second on stdout. Runs ONLY inside Locust.

Importing this module imports Locust, which monkey-patches the process with
gevent; chaoskit's own (asyncio) process must never import it. The bucketing
rules live in ``chaoskit.load.buckets``; this module only wires them to
Locust's events:

- ``events.request`` records every finished request into its completion second;
- ``events.test_start`` prints ``CHAOSKIT_READY`` and starts the emitter greenlet,
  which wakes just after each second boundary and prints every completed
  second as one ``CHAOSKIT_SAMPLE {json}`` line, flushed at once;
- ``events.quitting`` emits the seconds completed before the shutdown.

Cohorts (FIT mode, ``CHAOSKIT_COHORT_SHARE`` set by the runner): Locust has
no hook that runs before a request is sent, and the request event's
``context`` (the per-call ``context=`` argument, merged over ``User.context()``)
is the one place a request carries data from its call to its event. So the
``request`` method of both HTTP clients (``HttpSession`` and
``FastHttpSession``; ``get``/``post``/... all go through it) is wrapped once,
here: it draws the request's cohort, adds the cohort header to the request's
own headers, and puts the cohort in its ``context``, where ``_on_request``
finds it. Users' locustfiles are untouched; a request fired by hand
(``events.request.fire``) or from a non-HTTP user has no cohort and counts in
all traffic only. Without the variable nothing is wrapped.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import logging
import math
import os
import random
import signal
import sys
import time
from collections.abc import Callable
from typing import Any

import gevent  # type: ignore[import-untyped]
import locust
from locust.clients import HttpSession
from locust.contrib.fasthttp import FastHttpSession

from chaoskit.load.buckets import (
    COHORTS,
    READY,
    SLO_ENV,
    CohortDraw,
    CohortSettings,
    SecondBuckets,
    format_line,
)

_WAKE_AFTER_BOUNDARY = 0.005
"""Seconds past each boundary at which the emitter wakes: small, so samples arrive fast."""

_events: Any = locust.events
"""Locust's global event hooks (untyped in Locust); main creates the Environment with them."""
_logger = logging.getLogger("chaoskit.load")
_COHORT_KEY = "chaoskit_cohort"
"""The request context's key for the request's cohort."""
_cohorts = CohortSettings.from_environ(os.environ)
_buckets = SecondBuckets(slo_ms=float(os.environ.get(SLO_ENV, "1000")),
                         cohorts=COHORTS if _cohorts is not None else ())
_environment: Any = None
_emitter: Any = None


def _on_init(environment: Any, **_: Any) -> None:
    global _environment
    _environment = environment


def _on_request(
    name: str, response_time: float | None, exception: BaseException | None = None,
    context: dict[str, Any] | None = None, **_: Any
) -> None:
    # The clock is read here, in the hook, not from start_time + response_time:
    # hook and emitter share one thread, so once the emitter sees a second as
    # over, no later hook call can land in it.
    cohort = context.get(_COHORT_KEY) if context else None
    _buckets.record(name, response_time, exception is not None, time.time(),
                    cohort=cohort if isinstance(cohort, str) else None)


def _tagging(request: Callable[..., Any], draw: CohortDraw, header: str) -> Callable[..., Any]:
    """``request`` (a session's method) sending a drawn share of requests with ``header``.

    The arguments are bound to the method's own signature, so headers and
    context given positionally or by keyword (or, for ``HttpSession``, in its
    ``**kwargs``) are all found and extended, never overwritten.
    """
    signature = inspect.signature(request)
    var_kwargs = next((p.name for p in signature.parameters.values()
                       if p.kind is inspect.Parameter.VAR_KEYWORD), None)

    @functools.wraps(request)
    def tagged(*args: Any, **kwargs: Any) -> Any:
        cohort = draw.draw()
        if cohort is None:
            return request(*args, **kwargs)
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        arguments = bound.arguments
        holder = arguments if "headers" in signature.parameters else (
            arguments.setdefault(var_kwargs, {}) if var_kwargs else arguments)
        holder["headers"] = {**(holder.get("headers") or {}), header: cohort}
        arguments["context"] = {**(arguments.get("context") or {}), _COHORT_KEY: cohort}
        return request(*bound.args, **bound.kwargs)

    return tagged


if _cohorts is not None:
    _draw = CohortDraw(_cohorts.share, random.Random(_cohorts.seed))
    HttpSession.request = _tagging(HttpSession.request, _draw, _cohorts.header)  # type: ignore[method-assign]
    FastHttpSession.request = _tagging(  # type: ignore[method-assign]
        FastHttpSession.request, _draw, _cohorts.header)


def _on_test_start(**_: Any) -> None:
    global _emitter
    _buckets.start(time.time())
    if _emitter is None:
        _write(READY)
        _emitter = gevent.spawn(_emit_forever)


def _on_quitting(**_: Any) -> None:
    # Shutdown must go on to write the final JSON even if the driver is gone.
    with contextlib.suppress(OSError):
        _emit(time.time())


_events.init.add_listener(_on_init)
_events.request.add_listener(_on_request)
_events.test_start.add_listener(_on_test_start)
_events.quitting.add_listener(_on_quitting)


def _emit_forever() -> None:
    while True:
        now = time.time()
        gevent.sleep(math.floor(now) + 1 + _WAKE_AFTER_BOUNDARY - now)
        try:
            _emit(time.time())
        except BrokenPipeError:
            # The driver is gone (its runner was killed): a load nobody watches must
            # stop by itself now, not at the -t bound. SIGTERM takes Locust's own
            # orderly shutdown path.
            _logger.warning("chaoskit: the driver closed the sample stream; stopping Locust")
            os.kill(os.getpid(), signal.SIGTERM)
            return
        except Exception:
            # A broken sample must not silently end the stream; the driver sees the gap.
            _logger.exception("chaoskit: could not emit a load sample")


def _emit(now: float) -> None:
    runner = getattr(_environment, "runner", None)
    users = int(runner.user_count) if runner is not None else 0
    for sample in _buckets.pop_complete(now, users):
        _write(format_line(sample))


def _write(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()
