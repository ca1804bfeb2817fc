"""A load stream that lags behind the clock, and one that stalls."""

from __future__ import annotations

import time

import pytest

from chaoskit.errors import LoadError
from chaoskit.model.history import History, LoadSample, RequestStats
from chaoskit.probes.load import STREAM_SLACK, recent_samples
from chaoskit.runner.waits import SampleClock


def sample(second: int) -> LoadSample:
    return LoadSample(second=second, total=RequestStats(requests=10, good=10,
                                                        response_times={20: 10}))


def test_a_lagging_stream_is_read_as_far_as_it_has_come_and_a_stalled_one_not_at_all() -> None:
    # CI, 2026-12-01: restarting a zone beside a second run held chaoskit's loop, which
    # read the samples 8 s late; a guardrail that read those seconds as "no data" aborted
    # a healthy run.
    now = int(time.time())
    lagging = History()
    for second in range(now - 13, now - 8):
        lagging.append(sample(second))
    assert [s.second for s in recent_samples(lagging, 5, None)] == list(range(now - 13, now - 8))
    stalled = History()
    for second in range(now - 40, now - 30):
        stalled.append(sample(second))
    assert recent_samples(stalled, 5, None) == []


def test_the_clock_calls_a_load_stalled_once_it_is_silent_past_the_slack() -> None:
    fake = [1000.0]
    clock = SampleClock(History(), has_load=True, now=lambda: fake[0])
    clock.raise_if_stalled()  # no second yet: the start is cover()'s to wait for
    clock.on_sample(sample(5))
    fake[0] += STREAM_SLACK - 1
    clock.raise_if_stalled()
    fake[0] += 2
    with pytest.raises(LoadError, match="no complete second for 16s"):
        clock.raise_if_stalled()
    clock.on_sample(sample(6))
    clock.raise_if_stalled()


def test_a_clock_without_load_never_stalls() -> None:
    fake = [1000.0]
    clock = SampleClock(History(), now=lambda: fake[0])
    clock.on_sample(sample(5))
    fake[0] += 10 * STREAM_SLACK
    clock.raise_if_stalled()
