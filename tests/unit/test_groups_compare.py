"""The comparison of the experiment group with the control group: the statistical test on
hand-made per-second values, the load probe reading both groups over the same seconds, the
recorded reading, the verdict, a journal judged again, and the clock that waits for both."""

from __future__ import annotations

import asyncio
import dataclasses
import random
import time
from pathlib import Path

import pytest

from chaoskit.checks.compare import compare_groups, p_beyond_margin
from chaoskit.checks.verdict import judge
from chaoskit.context import RunContext
from chaoskit.model.experiment import Experiment, Groups, SteadyStateProbe
from chaoskit.model.history import (
    GuardrailBreached,
    History,
    LoadSample,
    Phase,
    PhaseStarted,
    ProbeReading,
    Recovery,
    RequestStats,
)
from chaoskit.model.probes import Compare, LoadProbe
from chaoskit.model.tolerance import Tolerance
from chaoskit.model.verdict import Verdict
from chaoskit.runner.evaluate import take_readings
from chaoskit.runner.waits import SampleClock
from tests.unit.probes.support import context

DROP = Compare(max_drop=0.01)


def noise(seed: int, centre: float, spread: float, n: int = 10) -> list[float]:
    rng = random.Random(seed)
    return [min(1.0, centre + rng.uniform(-spread, spread)) for _ in range(n)]


# --- the statistical judgement ------------------------------------------------------------


def test_a_clear_drop_deviates_with_a_small_p() -> None:
    control = noise(1, 0.998, 0.002)
    experiment = noise(2, 0.90, 0.02)
    found = compare_groups(DROP, experiment, control)
    assert found.p_value is not None and found.p_value < 0.001
    assert not found.holds
    assert found.detail().startswith("experiment 0.90")
    assert "vs control 0.99" in found.detail() or "vs control 1.00" in found.detail()
    assert found.detail().endswith("p < 0.001 (permutation test of means, one-sided, 10 s each)")


def test_noise_around_the_same_level_holds() -> None:
    control = noise(3, 0.995, 0.005)
    experiment = noise(4, 0.995, 0.005)
    found = compare_groups(DROP, experiment, control)
    assert found.holds
    assert found.p_value is not None and found.p_value > 0.5


def test_a_significant_drop_inside_the_margin_holds() -> None:
    # 0.005 lower every second: certainly lower, but within the 0.01 allowed.
    control = [0.999] * 5 + [0.998] * 5
    experiment = [v - 0.005 for v in control]
    assert p_beyond_margin(Compare(max_drop=0.0), experiment, control) < 0.01  # type: ignore[operator]
    found = compare_groups(DROP, experiment, control)
    assert found.holds
    assert found.p_value == 1.0


def test_a_drop_beyond_the_margin_that_may_be_noise_holds() -> None:
    # One bad second of eight: the window is 0.05 lower, but one second proves nothing.
    control = [1.0] * 8
    experiment = [1.0] * 7 + [0.6]
    found = compare_groups(DROP, experiment, control)
    assert DROP.exceeded(found.value or 0, found.control or 0)
    assert found.p_value is not None and found.p_value > 0.05
    assert found.holds


def test_half_a_window_down_deviates_where_a_rank_test_would_not() -> None:
    # An instance down for 4 of 8 seconds, as in a real run without retries: a typical
    # second is as good as the control's, the window is not.
    experiment = [0.6] * 4 + [1.0] * 4
    control = [1.0] * 8
    found = compare_groups(DROP, experiment, control)
    assert found.p_value is not None and found.p_value < 0.05
    assert not found.holds


def test_latency_ratio_and_failure_rise() -> None:
    control = noise(5, 100.0, 10.0)
    slow = [v * 2.0 for v in noise(6, 100.0, 10.0)]
    assert not compare_groups(Compare(max_ratio=1.5), slow, control).holds
    assert compare_groups(Compare(max_ratio=3.0), slow, control).holds
    failures = [0.10 + 0.01 * (i % 3) for i in range(10)]
    assert not compare_groups(Compare(max_rise=0.02), failures, [0.0] * 10).holds
    assert compare_groups(Compare(max_rise=0.2), failures, [0.0] * 10).holds


def test_constant_groups_and_missing_data() -> None:
    same = compare_groups(DROP, [1.0] * 6, [1.0] * 6)
    assert same.p_value == 1.0 and same.holds
    empty = compare_groups(DROP, [1.0] * 6, [])
    assert empty.p_value is None and not empty.holds
    assert empty.detail() == "no control samples to compare"
    assert compare_groups(DROP, [], [1.0]).detail() == "no experiment samples to compare"
    # A single second cannot be told from noise: no evidence, not a crash.
    assert compare_groups(DROP, [0.1], [1.0, 1.0]).p_value == 1.0


def test_the_p_value_is_reproducible_beyond_exact_permutations() -> None:
    control, experiment = noise(7, 0.99, 0.01, 15), noise(8, 0.975, 0.01, 15)
    first = p_beyond_margin(DROP, experiment, control)
    assert first == p_beyond_margin(DROP, experiment, control)


# --- the load probe over both groups ------------------------------------------------------


def sample(second: int, requests: int, failures: int, group: str,
           ms: int = 20) -> LoadSample:
    return LoadSample(second=second, group=group,  # type: ignore[arg-type]
                      total=RequestStats(requests=requests, failures=failures,
                                         good=requests - failures,
                                         response_times={ms: requests}))


TWO = Groups(control=True)


def grouped(tmp: Path, groups: Groups = TWO) -> RunContext:
    ctx = context(tmp)
    ctx.experiment = ctx.experiment.model_copy(update={"groups": groups})
    return ctx


PLAYS = SteadyStateProbe(name="plays", probe=LoadProbe(probe="load.success_ratio", window=6),
                         compare=DROP)


async def test_a_compared_probe_reads_both_groups_over_the_same_seconds(tmp_path: Path) -> None:
    ctx = grouped(tmp_path)
    now = int(time.time())
    for offset in range(-6, 0):
        bad = 40 if offset >= -4 else 0
        ctx.history.append(sample(now + offset, 100, bad, "experiment"))
        ctx.history.append(sample(now + offset, 100, 0, "control"))
    ctx.history.append(sample(now - 30, 100, 100, "control"))  # older than the window
    ctx.history.append(sample(now - 1, 100, 100, ""))           # not a group's sample
    [(event, reading)] = await take_readings(ctx, (PLAYS,), phase=Phase.OBSERVE,
                                             role="steady_state")
    assert event.value == pytest.approx(1 - 160 / 600)
    assert event.control == 1.0
    assert len(event.values) == len(event.control_values) == 6
    assert event.p_value is not None and event.p_value < 0.05
    assert not event.ok and not event.holds
    assert event.compare == DROP and event.tolerance is None
    assert event.test == "permutation test of means, one-sided, 6 s each"
    assert event.detail.startswith("experiment 0.733 vs control 1.000, p = 0.0")
    assert reading.comparison is not None


async def test_recovery_waits_until_the_experiment_is_back_within_the_margin(
    tmp_path: Path,
) -> None:
    # Three seconds cannot be significant, so the margin alone decides recovery.
    ctx = grouped(tmp_path)
    now = int(time.time())
    for offset in range(-3, 0):
        ctx.history.append(sample(now + offset, 100, 20, "experiment"))
        ctx.history.append(sample(now + offset, 100, 0, "control"))
    short = PLAYS  # read over the 3 s recovery window, as Run._recover does
    [(steady, _)] = await take_readings(ctx, (short,), phase=Phase.OBSERVE,
                                        role="steady_state", window=3)
    [(recovery, _)] = await take_readings(ctx, (short,), phase=Phase.RECOVER,
                                          role="recovery", window=3)
    assert steady.ok and steady.p_value is not None and steady.p_value >= 0.05
    assert not recovery.ok
    for offset in range(0, 3):
        ctx.history.append(sample(now + offset, 100, 0, "experiment"))
        ctx.history.append(sample(now + offset, 100, 0, "control"))
    [(back, _)] = await take_readings(ctx, (short,), phase=Phase.RECOVER, role="recovery",
                                      since=now, window=3)
    assert back.ok


async def test_absolute_probes_read_the_experiment_group(tmp_path: Path) -> None:
    ctx = grouped(tmp_path)
    now = int(time.time())
    for offset in range(-5, 0):
        ctx.history.append(sample(now + offset, 100, 10, "experiment"))
        ctx.history.append(sample(now + offset, 100, 0, "control"))
    absolute = SteadyStateProbe(name="abs", probe=LoadProbe(probe="load.success_ratio",
                                                            window=5),
                                tolerance=Tolerance(min=0.95))
    [(event, _)] = await take_readings(ctx, (absolute,), phase=Phase.BASELINE,
                                       role="steady_state")
    assert event.value == pytest.approx(0.9)
    assert event.control is None and not event.ok


async def test_no_control_samples_do_not_hold(tmp_path: Path) -> None:
    ctx = grouped(tmp_path)
    now = int(time.time())
    for offset in range(-5, 0):
        ctx.history.append(sample(now + offset, 100, 0, "experiment"))
    [(event, _)] = await take_readings(ctx, (PLAYS,), phase=Phase.BASELINE,
                                       role="steady_state")
    assert event.value == 1.0 and event.control is None and not event.ok
    assert event.detail == "no control samples to compare"


async def test_cohorts_of_one_deployment_compare_the_cohort_samples(tmp_path: Path) -> None:
    # FIT mode: one stream carries all traffic ("") and each cohort's seconds.
    ctx = grouped(tmp_path, Groups(control=True, share=0.05))
    now = int(time.time())
    for offset in range(-6, 0):
        ctx.history.append(sample(now + offset, 200, 20, ""))
        ctx.history.append(sample(now + offset, 10, 5, "experiment"))
        ctx.history.append(sample(now + offset, 10, 0, "control"))
    [(event, _)] = await take_readings(ctx, (PLAYS,), phase=Phase.OBSERVE, role="steady_state")
    assert (event.value, event.control) == (0.5, 1.0) and not event.ok


# --- verdicts, re-judging, the clock ------------------------------------------------------


def compared_reading(phase: Phase, value: float, control: float, p: float) -> ProbeReading:
    reading = ProbeReading(phase=phase, role="steady_state", name="plays", value=value, ok=True,
                           compare=DROP, control=control, p_value=p,
                           values=(value,) * 6, control_values=(control,) * 6,
                           detail=f"experiment {value} vs control {control}")
    return reading.model_copy(update={"ok": reading.holds})


def run_history(observed: ProbeReading) -> History:
    history = History()
    for phase in (Phase.SETUP, Phase.BASELINE):
        history.append(PhaseStarted(phase=phase))
    history.append(compared_reading(Phase.BASELINE, 1.0, 1.0, 1.0))
    history.append(PhaseStarted(phase=Phase.OBSERVE))
    history.append(observed)
    history.append(Recovery(seconds=1.0, within=30))
    history.append(compared_reading(Phase.VERIFY, 1.0, 1.0, 1.0))
    return history


def compared_experiment() -> Experiment:
    return Experiment.model_validate({
        "title": "compared", "topology": None, "groups": {"control": True, "share": 0.05},
        "load": {"locustfile": "x.py", "host": "http://127.0.0.1:1"},
        "steady_state": [{"name": "plays", "probe": "load.success_ratio",
                          "compare": {"max_drop": 0.01}}],
        "method": [{"fault": "pause", "service": "a", "duration": 5}],
    })


def test_the_verdict_says_both_groups_and_the_margin() -> None:
    experiment = compared_experiment()
    failed = judge(experiment, run_history(compared_reading(Phase.OBSERVE, 0.8, 1.0, 0.001)))
    assert failed.verdict == Verdict.DEVIATED
    assert failed.reasons[0] == ("during the fault: plays = 0.8, expected at most 0.01 below "
                                 "control (experiment 0.8 vs control 1.0)")
    noisy = judge(experiment, run_history(compared_reading(Phase.OBSERVE, 0.8, 1.0, 0.3)))
    assert noisy.verdict == Verdict.PASSED


def test_a_compared_guardrail_breach_says_why() -> None:
    history = run_history(compared_reading(Phase.OBSERVE, 1.0, 1.0, 1.0))
    history.append(GuardrailBreached(name="g", value=0.4, compare=Compare(max_drop=0.3),
                                     expected="at most 0.3 below control",
                                     detail="experiment 0.400 vs control 1.000, p < 0.001"))
    verdict = judge(compared_experiment(), history)
    assert verdict.verdict == Verdict.ABORTED
    assert verdict.reasons == ("guardrail g breached: 0.4 not at most 0.3 below control "
                               "(experiment 0.400 vs control 1.000, p < 0.001); reverted at once",)


def test_a_journal_is_judged_again_under_a_new_margin(tmp_path: Path) -> None:
    from chaoskit.report.journal import Journal, RunOptionsRecord
    from chaoskit.report.rejudge import rejudge

    experiment = compared_experiment()
    values = (0.6,) * 4 + (1.0,) * 4
    found = compare_groups(DROP, values, (1.0,) * 8)
    observed = ProbeReading(phase=Phase.OBSERVE, role="steady_state", name="plays",
                            value=found.value, ok=found.holds, compare=DROP,
                            control=found.control, p_value=found.p_value,
                            values=found.values, control_values=found.control_values)
    journal = Journal(run_id="r", experiment=experiment, options=RunOptionsRecord(),
                      started=0, ended=1, judgement=judge(experiment, run_history(observed)),
                      history=run_history(observed))
    assert rejudge(journal).judgement.verdict == Verdict.DEVIATED
    loose = experiment.model_copy(update={"steady_state": (
        experiment.steady_state[0].model_copy(update={"compare": Compare(max_drop=0.3)}),)})
    again = rejudge(journal, against=loose)
    assert again.judgement.verdict == Verdict.PASSED
    reading = next(r for r in again.history.of_type(ProbeReading) if r.phase == Phase.OBSERVE)
    assert reading.compare == Compare(max_drop=0.3)
    assert reading.p_value is not None and reading.p_value > 0.5


def test_the_clock_counts_a_second_once_every_group_sent_it() -> None:
    history = History()
    clock = SampleClock(history, has_load=True, groups=("experiment", "control"))
    now = int(time.time())
    for offset, group in ((0, "experiment"), (0, "control"), (1, "experiment"),
                          (2, "control")):
        history.append(sample(now + offset, 1, 0, group))
    assert clock.seconds_since(now) == 1
    one = SampleClock(history, groups=("",))
    assert one.seconds_since(now) == 0


async def test_the_clock_wakes_when_both_groups_sent_a_second() -> None:
    clock = SampleClock(History(), groups=("experiment", "control"))
    clock.on_sample(sample(5, 1, 0, "experiment"))
    waiting = asyncio.ensure_future(clock.next(timeout=5))
    await asyncio.sleep(0.05)
    assert not waiting.done()
    clock.on_sample(sample(5, 1, 0, "control"))
    await asyncio.wait_for(waiting, 1)


async def test_a_watch_on_the_clock_ends_when_cancelled_as_a_sample_arrives() -> None:
    # The guardrail watch is cancelled when the fault ends; a sample arriving in the same
    # loop iteration must not swallow that cancel (asyncio.wait_for on 3.11 did: the watch
    # went on for ever and the run never reverted).
    clock = SampleClock(History(), groups=("",))
    rounds = 0

    async def watch() -> None:
        nonlocal rounds
        while True:
            await clock.next(timeout=1.0)
            rounds += 1

    watcher = asyncio.ensure_future(watch())
    await asyncio.sleep(0.05)
    clock.on_sample(sample(5, 1, 0, ""))
    await asyncio.sleep(0)  # the clock's wait has completed; the watch has not resumed
    watcher.cancel()
    done, _ = await asyncio.wait({watcher}, timeout=2.5)
    assert done and watcher.cancelled(), f"the watch went on after its cancel ({rounds} rounds)"


def test_reading_fields_survive_the_journal() -> None:
    reading = compared_reading(Phase.OBSERVE, 0.9, 1.0, 0.01)
    back = ProbeReading.model_validate_json(reading.model_dump_json())
    assert back == reading and not back.holds
    assert dataclasses.is_dataclass(compare_groups(DROP, [1.0], [1.0]))
