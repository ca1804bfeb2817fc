"""Merging Locust workers' one-second samples: exact sums, and when a second is complete."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from chaoskit.load.buckets import SecondBuckets
from chaoskit.load.merge import SampleMerger, merge_samples, merge_stats
from chaoskit.model.history import Group, LoadSample, RequestStats

T0 = 1_000


def sample(second: int, requests: int = 10, ms: int = 10, *, group: Group = "",
           users: int = 2) -> LoadSample:
    stats = RequestStats(requests=requests, good=requests, response_times={ms: requests})
    return LoadSample(second=second, users=users, total=stats, by_name={"ok": stats},
                      group=group)


def seconds(samples: list[LoadSample]) -> list[tuple[int, str, int]]:
    return [(s.second, s.group, s.total.requests) for s in samples]


# --- the arithmetic ---------------------------------------------------------------------

def test_percentiles_are_computed_again_from_the_merged_histogram() -> None:
    # Worker 1: 90 fast requests; worker 2: 10 slow ones. The workers' own p95s are
    # 10 and 500 ms (an average would say 255); of the 100 requests the slowest 10 %
    # took 500 ms, so the p95 is 500 and the p50 10.
    fast = RequestStats(requests=90, good=90, response_times={10: 90})
    slow = RequestStats(requests=10, failures=2, good=5, response_times={500: 10})
    merged = merge_stats([fast, slow])
    assert (merged.requests, merged.failures, merged.good) == (100, 2, 95)
    assert merged.response_times == {10: 90, 500: 10}
    assert (merged.p50_ms, merged.p95_ms, merged.p99_ms) == (10.0, 500.0, 500.0)


def test_merged_samples_add_users_and_keep_names_only_some_workers_saw() -> None:
    one = sample(T0, 5, users=3)
    two = sample(T0, 7, users=4).model_copy(update={"by_name": {
        "ok": RequestStats(requests=6, good=6, response_times={10: 6}),
        "rare": RequestStats(requests=1, good=1, response_times={20: 1})}})
    merged = merge_samples([one, two], t=T0 + 1.01)
    assert (merged.second, merged.t, merged.users) == (T0, T0 + 1.01, 7)
    assert merged.total.requests == 12
    assert merged.by_name["ok"].requests == 11
    assert merged.by_name["rare"].requests == 1


_requests = st.lists(st.tuples(
    st.integers(0, 2),  # the worker that saw it
    st.floats(0, 2.999),  # when it completed, past T0
    st.one_of(st.none(), st.floats(0, 20_000)),  # its response time (None: untimed)
    st.booleans(),  # failed
    st.sampled_from(["a", "b"]),  # request name
), max_size=200)


@settings(max_examples=60, deadline=None)
@given(_requests)
def test_merging_the_workers_equals_one_locust_seeing_every_request(
    requests: list[tuple[int, float, float | None, bool, str]],
) -> None:
    one = SecondBuckets(slo_ms=1000)
    workers = [SecondBuckets(slo_ms=1000) for _ in range(3)]
    for buckets in (one, *workers):
        buckets.start(T0)
    for worker, offset, ms, failed, name in requests:
        one.record(name, ms, failed, T0 + offset)
        workers[worker].record(name, ms, failed, T0 + offset)
    merger = SampleMerger(range(3))
    merged: list[LoadSample] = []
    for index, buckets in enumerate(workers):
        for part in buckets.pop_complete(T0 + 3, users=1):
            merged += merger.add(index, part, now=T0 + 3)
    expected = one.pop_complete(T0 + 3, users=3)
    assert [s.model_dump(exclude={"t"}) for s in merged] == \
        [s.model_dump(exclude={"t"}) for s in expected]


# --- when a second is complete ------------------------------------------------------------

def test_a_second_waits_for_every_worker_then_comes_out_once() -> None:
    merger = SampleMerger(["w1", "w2"])
    assert merger.add("w1", sample(T0, 3), now=T0 + 1.01) == []
    [out] = merger.add("w2", sample(T0, 4), now=T0 + 1.02)
    assert (out.second, out.total.requests, out.t) == (T0, 7, T0 + 1.02)
    assert merger.deadline() is None


def test_a_worker_that_has_not_sent_anything_holds_the_stream_until_it_does() -> None:
    merger = SampleMerger(["w1", "w2"])
    assert merger.add("w1", sample(T0), now=T0 + 1) == []
    assert merger.add("w1", sample(T0 + 1), now=T0 + 2) == []
    # w2's users started a second later: its first second is T0 + 1, so T0 is w1's alone.
    out = merger.add("w2", sample(T0 + 1, 5), now=T0 + 2.01)
    assert seconds(out) == [(T0, "", 10), (T0 + 1, "", 15)]


def test_a_worker_that_moved_on_had_nothing_more_for_an_earlier_group_second() -> None:
    # FIT mode: one sample per group per second; a worker whose users sent no
    # control-cohort request that second may send no control sample for it.
    merger = SampleMerger(["w1", "w2"])
    merger.add("w1", sample(T0, 2, group="control"), now=T0 + 1)
    merger.add("w1", sample(T0, 10), now=T0 + 1)
    assert seconds(merger.add("w2", sample(T0, 20), now=T0 + 1)) == [(T0, "", 30)]
    # w2 sends its next second: it is done with T0, control included.
    out = merger.add("w2", sample(T0 + 1, 20), now=T0 + 2)
    assert seconds(out) == [(T0, "control", 2)]


def test_a_late_worker_holds_a_second_only_until_the_deadline() -> None:
    merger = SampleMerger(["w1", "w2"], late_after=2.0)
    merger.add("w1", sample(T0 - 1), now=T0)
    merger.add("w2", sample(T0 - 1), now=T0)
    merger.add("w1", sample(T0, 3), now=T0 + 1)
    assert merger.deadline() == T0 + 3.0
    assert merger.expire(now=T0 + 2.9) == []
    [out] = merger.expire(now=T0 + 3.0)
    assert (out.second, out.total.requests) == (T0, 3)
    # What w2 sends for it afterwards is too late: counted, dropped, never a second copy.
    assert merger.add("w2", sample(T0, 4), now=T0 + 3.5) == []
    assert merger.late == 1
    assert seconds(merger.add("w2", sample(T0 + 1, 4), now=T0 + 3.6)) == []
    assert seconds(merger.add("w1", sample(T0 + 1, 1), now=T0 + 3.7)) == [(T0 + 1, "", 5)]


def test_an_ended_worker_no_longer_holds_seconds() -> None:
    merger = SampleMerger(["w1", "w2"])
    merger.add("w1", sample(T0 - 1), now=T0)
    merger.add("w2", sample(T0 - 1), now=T0)
    assert merger.add("w1", sample(T0, 3), now=T0 + 1) == []
    assert seconds(merger.worker_ended("w2", now=T0 + 1.2)) == [(T0, "", 3)]
    assert seconds(merger.add("w1", sample(T0 + 1, 3), now=T0 + 2)) == [(T0 + 1, "", 3)]


def test_flush_hands_out_whatever_is_pending_in_order() -> None:
    merger = SampleMerger(["w1", "w2"])
    merger.add("w1", sample(T0 + 1, 2), now=T0 + 2)
    merger.add("w1", sample(T0, 1), now=T0 + 2)
    merger.add("w1", sample(T0, 5, group="control"), now=T0 + 2)
    assert seconds(merger.flush(now=T0 + 2.5)) == [
        (T0, "", 1), (T0, "control", 5), (T0 + 1, "", 2)]
    assert merger.deadline() is None
