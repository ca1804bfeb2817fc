"""Compared experiments have teeth: each passes with its defence and deviates without it.

Every case study has a compared form in ``experiments/compared/`` (Netflix ChAP:
``groups: {control: true}`` deploys the topology twice, faults go into the
experiment group only, and compared probes judge it against the control group
over the same seconds). Each test runs the file as a user would, with and
without the defences ``test_teeth.py`` switches off, the two runs side by side
(``run_pair``: four deployments on the machine at once), and checks that the
deviation is the comparison's: a compared reading whose experiment value lies
beyond the margin from the control's, with a p-value below its alpha, while
the control group beside it served as before.

The files are run unchanged (they are short already), so the verdicts here are
those of the experiments a user runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from tests.integration.runner.conftest import Finished
from tests.resilience.conftest import readings, run_pair

pytestmark = [pytest.mark.integration, pytest.mark.resilience,
              # A pair sets up and tears down four deployments: more than the suite's 300 s
              # per test when the machine is shared.
              pytest.mark.timeout(480)]

COMPARED = Path(__file__).resolve().parents[2] / "experiments" / "compared"
TIMEOUT = 400
"""Seconds a pair may take: each run sets up and tears down two deployments."""


def compared_failures(finished: Finished) -> list[dict[str, Any]]:
    """The failing compared steady-state readings taken during the faults."""
    return [e for e in finished.events("probe")
            if e["role"] == "steady_state" and e["phase"] == "observe" and not e["ok"]
            and e.get("compare") is not None]


def assert_both_groups_measured(finished: Finished) -> None:
    groups = {e.get("group", "") for e in finished.events("load")}
    assert groups == {"control", "experiment"}, groups


def assert_deviated_by_comparison(pair_undefended: Finished, probe: str) -> None:
    """The undefended run deviated on ``probe``, compared with its control: beyond the
    margin and significant, or (a probe that keeps an absolute bound beside its
    comparison: Chaos Monkey, Prime Day) beyond that bound, with the control's value
    and the test recorded beside it."""
    failing = [e for e in compared_failures(pair_undefended) if e["name"] == probe]
    assert failing, f"{probe} did not fail by comparison: {pair_undefended.output}"
    reading = failing[0]
    assert reading["control"] is not None and reading["p_value"] is not None
    assert reading["test"]  # the test is named beside its p-value
    if reading["tolerance"] is None:
        # Compared only: the comparison itself found the divergence significant.
        assert reading["p_value"] < reading["compare"]["alpha"]


CASES: list[tuple[str, tuple[str, ...], str, Mapping[str, str]]] = [
    # file, defences switched off, the compared probe that must diverge, environment
    ("netflix_instance.yaml", ("retries",), "play starts succeed", {}),
    ("netflix_az.yaml", ("retries",), "play starts succeed", {}),
    ("netflix_az_isolate.yaml", ("retries", "circuit_breaker"), "play starts succeed", {}),
    ("netflix_region.yaml", ("failover",), "global play starts succeed", {}),
    ("netflix_dependency_loss.yaml", ("stale_fallback",), "pages served", {}),
    ("netflix_latency.yaml", ("circuit_breaker",), "median page fast", {}),
    ("amazon_prime_day.yaml", ("load_shedding",), "play p95 stays low", {}),
]


@pytest.mark.parametrize(("name", "defences", "probe", "env"), CASES,
                         ids=[c[0].removesuffix(".yaml") for c in CASES])
def test_a_compared_experiment_has_teeth(pair_dir: Path, name: str, defences: tuple[str, ...],
                                         probe: str, env: Mapping[str, str]) -> None:
    pair = run_pair(pair_dir, COMPARED / name, defences, env=env, timeout=TIMEOUT)
    pair.assert_teeth()
    for finished in (pair.defended, pair.undefended):
        assert_both_groups_measured(finished)
    # The defended run compared and found nothing significant beyond the margin.
    assert not compared_failures(pair.defended)
    assert_deviated_by_comparison(pair.undefended, probe)


def test_compared_retried_payments_need_idempotency_keys(pair_dir: Path) -> None:
    # The audit carries the teeth (an absolute invariant read on the experiment group:
    # a duplicate charge is wrong whatever the control does); the compared payments probe
    # only has to hold with its margin in both runs.
    pair = run_pair(pair_dir, COMPARED / "stripe_retries.yaml", "idempotency", timeout=TIMEOUT)
    pair.assert_teeth()
    for finished in (pair.defended, pair.undefended):
        assert_both_groups_measured(finished)
    audit = "no double charge or lost payment"
    assert readings(pair.defended, "verify")[audit] == 0
    assert (readings(pair.undefended, "verify")[audit] or 0) > 0
