"""Cohort bucketing (FIT mode) and the cohort draw, tested without Locust in this process."""

from __future__ import annotations

import random

import pytest

from chaoskit.load.buckets import (
    COHORT_HEADER,
    COHORTS,
    CohortDraw,
    CohortSettings,
    SecondBuckets,
    format_line,
    parse_line,
)
from chaoskit.model.history import LoadSample, RequestStats

T0 = 1_700_000_000.0


def test_each_second_has_all_traffic_then_one_sample_per_cohort() -> None:
    buckets = SecondBuckets(slo_ms=100, cohorts=COHORTS)
    buckets.start(T0)
    buckets.record("play", 10.0, False, T0 + 0.1)                      # untagged
    buckets.record("play", 20.0, False, T0 + 0.2, cohort="control")
    buckets.record("play", 30.0, True, T0 + 0.3, cohort="experiment")
    buckets.record("play", 40.0, False, T0 + 0.4, cohort="experiment")
    everything, control, experiment = buckets.pop_complete(T0 + 1.0, users=5)
    assert [s.group for s in (everything, control, experiment)] == ["", "control", "experiment"]
    assert {s.second for s in (everything, control, experiment)} == {int(T0)}
    # All traffic holds every request, each cohort only its own.
    assert (everything.total.requests, everything.total.failures) == (4, 1)
    assert (control.total.requests, control.total.failures) == (1, 0)
    assert (experiment.total.requests, experiment.total.failures) == (2, 1)
    assert experiment.by_name["play"].response_times == {30: 1, 40: 1}
    assert control.total.p50_ms == 20.0 and everything.users == control.users == 5


def test_a_cohort_without_requests_still_gets_its_sample() -> None:
    buckets = SecondBuckets(slo_ms=100, cohorts=COHORTS)
    buckets.start(T0)
    buckets.record("play", 10.0, False, T0 + 1.5, cohort="control")
    samples = buckets.pop_complete(T0 + 2.0, users=1)
    assert [(s.second - int(T0), s.group, s.total.requests) for s in samples] == [
        (0, "", 0), (0, "control", 0), (0, "experiment", 0),
        (1, "", 1), (1, "control", 1), (1, "experiment", 0)]


def test_an_unknown_cohort_or_an_ungrouped_run_counts_in_all_traffic_only() -> None:
    grouped = SecondBuckets(slo_ms=100, cohorts=COHORTS)
    grouped.start(T0)
    grouped.record("play", 10.0, False, T0 + 0.5, cohort="canary")
    assert [s.total.requests for s in grouped.pop_complete(T0 + 1, users=1)] == [1, 0, 0]
    plain = SecondBuckets(slo_ms=100)
    plain.start(T0)
    plain.record("play", 10.0, False, T0 + 0.5, cohort="experiment")
    [only] = plain.pop_complete(T0 + 1, users=1)
    assert only.group == "" and only.total.requests == 1


def test_the_line_of_all_traffic_has_no_group_key_and_a_cohorts_line_has_it() -> None:
    buckets = SecondBuckets(slo_ms=100, cohorts=COHORTS)
    buckets.start(T0)
    buckets.record("play", 10.0, False, T0 + 0.5, cohort="experiment")
    everything, control, experiment = buckets.pop_complete(T0 + 1, users=1)
    # Byte for byte what an ungrouped run wrote before cohorts existed.
    assert '"group"' not in format_line(everything)
    assert '"group":"experiment"' in format_line(experiment)
    for sample in (everything, control, experiment):
        assert parse_line(format_line(sample)) == sample


def test_the_draw_gives_each_cohort_its_share_and_replays_with_a_seed() -> None:
    draw = CohortDraw(0.05, random.Random(7))
    drawn = [draw.draw() for _ in range(40_000)]
    control, experiment = drawn.count("control"), drawn.count("experiment")
    # 2000 expected each; 4 standard deviations (~44) either way.
    assert 1820 < control < 2180 and 1820 < experiment < 2180
    assert drawn.count(None) == 40_000 - control - experiment
    again = CohortDraw(0.05, random.Random(7))
    assert [again.draw() for _ in range(40_000)] == drawn
    half = CohortDraw(0.5, random.Random(1))
    assert None not in [half.draw() for _ in range(1000)]


@pytest.mark.parametrize("share", [0.0, -0.1, 0.51])
def test_a_draw_refuses_a_share_two_cohorts_cannot_have(share: float) -> None:
    with pytest.raises(ValueError, match="share"):
        CohortDraw(share)


def test_settings_come_from_the_environment() -> None:
    assert CohortSettings.from_environ({}) is None
    assert CohortSettings.from_environ({"CHAOSKIT_COHORT_SHARE": "0.05"}) == CohortSettings(
        share=0.05, header=COHORT_HEADER, seed=None)
    assert CohortSettings.from_environ({
        "CHAOSKIT_COHORT_SHARE": "25%", "CHAOSKIT_COHORT_HEADER": "X-Cohort",
        "CHAOSKIT_COHORT_SEED": "7"}) == CohortSettings(share=0.25, header="X-Cohort", seed=7)
    with pytest.raises(ValueError, match="CHAOSKIT_COHORT_SHARE"):
        CohortSettings.from_environ({"CHAOSKIT_COHORT_SHARE": "60%"})


def test_the_runners_variables_read_back_as_the_same_settings() -> None:
    for settings in (CohortSettings(share=0.05), CohortSettings(0.5, "X-Cohort", 7)):
        assert CohortSettings.from_environ(settings.environ()) == settings


def test_an_ungrouped_line_is_the_line_of_before_groups_byte_for_byte() -> None:
    sample = LoadSample(t=1.5, second=1, users=2, total=RequestStats(requests=1, good=1),
                        by_name={})
    assert format_line(sample) == (
        'CHAOSKIT_SAMPLE {"t":1.5,"type":"load","second":1,"users":2,"total":{"requests":1,'
        '"failures":0,"good":1,"p50_ms":null,"p95_ms":null,"p99_ms":null,'
        '"response_times":{}},"by_name":{}}')
