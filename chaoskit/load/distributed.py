"""Locust's own distributed mode as chaoskit runs it: one master, N workers, all on loopback.

Why a master and N ``--worker`` processes the driver starts itself, and not
Locust's ``--processes N`` (which forks the workers from the master)
    The driver must see each worker: its exit (a dead worker is a load error,
    reported at once, not a master that logs "missing" after three heartbeats
    and goes on with less load) and its own sample stream. Forked children
    share the master's stdout, so their lines would interleave on one pipe (a
    sample line with wide histograms is longer than an atomic pipe write) and
    could not be told apart. And the forked workers' fate after a SIGKILLed
    master is Locust's (a 60 s heartbeat timeout), not the driver's.

Why the workers' own streams, merged per second, and not the master's statistics
    Workers report to the master every 3 s (``WORKER_REPORT_INTERVAL``) with
    whole-run counters, not per-second histograms: the master's view is three
    times coarser and up to three seconds late. Each worker's glue already
    emits every completed second about 5 ms after it ends, with its exact
    histogram; adding them (``chaoskit.load.merge``) keeps the percentiles exact
    and the sample latency that of one Locust (plus the slowest worker's
    jitter). Per-second custom messages to the master would add a hop and a
    merge inside gevent for nothing the driver cannot do itself.

Traps handled (see the reference notes on Locust's distributed mode): the
master binds 127.0.0.1, never ``*``; ``--expect-workers-max-wait`` is bounded
(0 would wait forever); a headless master has no web UI; workers never outlive
the master: the driver stops them all, each leads its own process group and
carries the run marker (rollback finds them), and each notices a dead runner
by its closed sample pipe within a second.
"""

from __future__ import annotations

import math
import os
import socket

from chaoskit.model.experiment import LoadSpec

MASTER_HOST = "127.0.0.1"


def worker_count(spec: LoadSpec) -> int | None:
    """How many workers ``spec`` asks for; None for one plain Locust process.

    ``auto`` is one per core, and at most one per user (a worker without a user
    adds nothing but a process).
    """
    if spec.workers is None:
        return None
    if spec.workers == "auto":
        return max(1, min(os.cpu_count() or 1, spec.users))
    return spec.workers


def free_port(host: str = MASTER_HOST) -> int:
    """A port free on ``host`` now, for the master to bind.

    Locust could bind a random port itself (port 0) but would not tell the
    workers which; the short race until the master binds it ends in a clear
    load error ("Socket bind failure"), not in a wrong connection.
    """
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def master_args(workers: int, port: int, ready_timeout: float) -> list[str]:
    """The master's own flags, besides the ones a single Locust gets."""
    return [
        "--master", "--master-bind-host", MASTER_HOST, "--master-bind-port", str(port),
        "--expect-workers", str(workers),
        "--expect-workers-max-wait", str(math.ceil(ready_timeout)),
    ]


def worker_args(port: int) -> list[str]:
    """A worker's flags: users, rate and run time come from the master."""
    return ["--worker", "--master-host", MASTER_HOST, "--master-port", str(port)]
