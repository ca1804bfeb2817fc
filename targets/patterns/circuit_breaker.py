"""Circuit breaker: stop calling a dependency that keeps failing, and fail fast instead.

A breaker sits in front of one upstream. While calls succeed it is *closed*.
After ``fail_max`` consecutive failures it *opens*: calls are refused at once
(no connection, no timeout to wait out) so the caller can answer or fall back
quickly and the sick dependency gets room to recover. After ``reset_timeout``
the breaker goes *half-open* and lets exactly one trial call through: success
closes it, failure opens it again.

The state machine is pybreaker's. pybreaker predates asyncio, so three things
are done here (see reference §1.6):

- the guarded block is entered with ``with breaker.calling():`` — decorating an
  ``async def`` would only guard the creation of the coroutine, and ``call()``
  would hold pybreaker's lock across the await;
- ``asyncio.CancelledError`` is excluded: a caller giving up (client gone, outer
  timeout) says nothing about the upstream's health;
- half-open admits ONE probe at a time (a semaphore); pybreaker alone would let
  every concurrent request through as a "trial" and stampede a recovering upstream;
- with ``trials`` > 1 a failed probe does not reopen the circuit at once: the
  next caller probes again, one at a time, and only ``trials`` failed probes in a
  row reopen it for another ``reset_timeout``. One probe is one coin flip on a
  path that loses a share of its connections (a flaky link, a proxy resetting
  some): at pybreaker's single probe, an upstream back within a second stayed
  cut off for several more ``reset_timeout`` periods while every probe lost the
  toss (experiments/stripe_retries.yaml: 55 % of new connections failed, and
  payments, back ~3 s after a kill, stayed unreachable 8-10 s).

pybreaker times ``reset_timeout`` with the wall clock (``datetime.now(UTC)``),
which a clock step can stretch or cut short. Its state storage is where it
keeps ``opened_at``, so a storage here times the open state with ``clock``
(``time.monotonic`` by default; a test passes a fake one) instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta

import pybreaker

from targets.common.metrics import Sample

STATE_VALUE = {pybreaker.STATE_CLOSED: 0.0, pybreaker.STATE_HALF_OPEN: 1.0,
               pybreaker.STATE_OPEN: 2.0}
"""``circuit_breaker_state`` gauge: 0 closed, 1 half-open, 2 open."""


class CircuitOpenError(Exception):
    """Refused without calling: the breaker is open (or its one probe is in flight)."""


class _Counter(pybreaker.CircuitBreakerListener):
    def __init__(self) -> None:
        self.trips = 0
        self.retrial = False
        """Set while a probe runs that, if it fails, is followed by another probe."""

    def state_change(self, cb: pybreaker.CircuitBreaker, old: object, new: object) -> None:
        if getattr(new, "name", None) != pybreaker.STATE_OPEN:
            return
        if self.retrial and getattr(old, "name", None) == pybreaker.STATE_HALF_OPEN:
            return  # not a trip: the circuit goes straight back to half-open
        self.trips += 1


class _ClockStorage(pybreaker.CircuitMemoryStorage):
    """Keeps when the circuit opened by ``clock``; tells pybreaker as a wall-clock time.

    pybreaker only writes ``opened_at`` (when it opens) and reads it to test
    ``datetime.now(UTC) < opened_at + reset_timeout``: reading it back as "now
    minus the time ``clock`` says has passed" makes that test follow ``clock``.
    """

    def __init__(self, clock: Callable[[], float]) -> None:
        super().__init__(pybreaker.STATE_CLOSED)
        self._clock = clock
        self._opened: float | None = None

    @property
    def opened_at(self) -> datetime | None:
        if self._opened is None:
            return None
        return datetime.now(UTC) - timedelta(seconds=self._clock() - self._opened)

    @opened_at.setter
    def opened_at(self, value: datetime) -> None:
        self._opened = self._clock()


class AsyncCircuitBreaker:
    """One breaker for one upstream, safe to use from many concurrent tasks.

    ``is_failure`` decides which exceptions count against the upstream (by
    default all of them); the others pass through as successes, e.g. a 4xx
    answer proves the upstream is alive. ``clock`` (seconds) times ``reset_timeout``.
    ``trials`` is how many probes in a row, one at a time, may fail in half-open
    before the circuit reopens (1: pybreaker's rule, the first failed probe).
    """

    def __init__(self, name: str, *, fail_max: int = 5, reset_timeout: float = 5.0,
                 enabled: bool = True, trials: int = 1,
                 is_failure: Callable[[BaseException], bool] = lambda e: True,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if trials < 1:
            raise ValueError("trials must be at least 1")
        self.name = name
        self.enabled = enabled
        self.trials = trials
        self.rejected = 0
        self._failed_trials = 0
        self._listener = _Counter()
        self._breaker = pybreaker.CircuitBreaker(
            fail_max=fail_max, reset_timeout=reset_timeout, name=name,
            exclude=[lambda e: isinstance(e, asyncio.CancelledError) or not is_failure(e)],
            listeners=[self._listener],
            state_storage=_ClockStorage(clock),
            # Let the error that tripped the breaker through: it says what went wrong.
            throw_new_error_on_trip=False,
        )
        self._probe = asyncio.Semaphore(1)

    @property
    def state(self) -> str:
        return str(self._breaker.current_state)

    @property
    def trips(self) -> int:
        return self._listener.trips

    @contextlib.asynccontextmanager
    async def guard(self) -> AsyncIterator[None]:
        """``async with breaker.guard(): await call()`` — raises CircuitOpenError when open."""
        if not self.enabled:
            yield
            return
        if self._breaker.current_state == pybreaker.STATE_CLOSED:
            with self._translate(), self._breaker.calling():
                yield
            return
        # Open or half-open: at most one caller goes on to test the upstream.
        if self._probe.locked():
            self.rejected += 1
            raise CircuitOpenError(f"circuit {self.name} is open (probe in flight)")
        async with self._probe:
            was = self._breaker.current_state
            probing = False
            try:
                with self._translate(), self._breaker.calling():
                    # Admitted: this call is the probe (the circuit is half-open now).
                    probing = self._breaker.current_state == pybreaker.STATE_HALF_OPEN
                    self._listener.retrial = probing and self._failed_trials + 1 < self.trials
                    yield
            except asyncio.CancelledError:
                # pybreaker counts an excluded error as a success, which would
                # close the circuit on a probe that proved nothing: put it back.
                if was != pybreaker.STATE_CLOSED:
                    self._breaker.half_open()
                raise
            except Exception:
                if probing and self._breaker.current_state == pybreaker.STATE_OPEN:
                    self._failed_trials += 1
                    if self._failed_trials < self.trials:
                        # Synchronously, so no other task sees it open: the next
                        # caller is the next probe.
                        self._breaker.half_open()
                    else:
                        self._failed_trials = 0
                elif probing:
                    self._failed_trials = 0  # not a failure: pybreaker closed the circuit
                raise
            else:
                if probing:
                    self._failed_trials = 0
            finally:
                self._listener.retrial = False

    @contextlib.contextmanager
    def _translate(self) -> Iterator[None]:
        try:
            yield
        except pybreaker.CircuitBreakerError as error:
            if error.__context__ is not None and not isinstance(
                    error.__context__, pybreaker.CircuitBreakerError):
                raise error.__context__ from None  # a failed trial: report the real error
            self.rejected += 1
            raise CircuitOpenError(f"circuit {self.name} is open") from None

    def samples(self) -> list[Sample]:
        labels = {"upstream": self.name}
        return [("circuit_breaker_state", labels, STATE_VALUE.get(self.state, 0.0))]

    def counters(self) -> list[Sample]:
        labels = {"upstream": self.name}
        return [("circuit_breaker_trips_total", labels, float(self.trips)),
                ("circuit_breaker_rejected_total", labels, float(self.rejected))]
