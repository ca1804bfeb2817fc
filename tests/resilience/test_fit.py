"""The FIT experiment has teeth: one deployment, cohorts of 5 %, the fault for one cohort.

``experiments/compared/netflix_fit.yaml`` runs as a user runs it, with and
without the stale-if-error fallback: with it the experiment cohort's pages are
served (stale) like the control cohort's and the run passes; without it they
fail while the control cohort's and all other traffic's do not, so the
comparison deviates — and all traffic, 90 % of it outside both cohorts, never
comes near the guardrail.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.resilience.conftest import EXPERIMENTS, run_pair

pytestmark = [pytest.mark.integration, pytest.mark.resilience]


def cohort_pages(events: list[dict[str, object]], group: str) -> tuple[int, int]:
    """(requests, failures) of the recommendations pages of one group over a run."""
    requests = failures = 0
    for event in events:
        if event.get("group", "") != group:
            continue
        by_name = event["by_name"]
        assert isinstance(by_name, dict)
        pages = by_name.get("recommendations", {})
        requests += pages.get("requests", 0)
        failures += pages.get("failures", 0)
    return requests, failures


def test_fit_needs_the_stale_fallback_for_the_experiment_cohort_only(pair_dir: Path) -> None:
    pair = run_pair(pair_dir, EXPERIMENTS / "compared" / "netflix_fit.yaml", "stale_fallback",
                    timeout=120)
    pair.assert_teeth()
    defended, undefended = pair.defended, pair.undefended
    # The deviation is the comparison's: experiment cohort against control cohort.
    [deviation] = [e for e in undefended.events("probe")
                   if e["phase"] == "observe" and not e["ok"]][:1]
    assert deviation["name"] == "pages served" and deviation["control"] > 0.99
    assert deviation["value"] < 0.5
    # Every second carries all traffic and both cohorts; the fault reached one cohort.
    loads = undefended.events("load")
    assert {e.get("group", "") for e in loads} == {"", "control", "experiment"}
    control = cohort_pages(loads, "control")
    experiment = cohort_pages(loads, "experiment")
    everything = cohort_pages(loads, "")
    assert control[0] > 50 and control[1] == 0
    assert experiment[0] > 50 and experiment[1] > experiment[0] / 4
    # The cohorts are small: all traffic saw only the experiment cohort's failures.
    assert everything[1] == experiment[1] and everything[0] > 5 * experiment[0]
    # With the fallback the experiment cohort's pages were served, and no guardrail fired.
    assert cohort_pages(defended.events("load"), "experiment")[1] == 0
    assert not defended.events("guardrail_breached") and not undefended.events(
        "guardrail_breached")
