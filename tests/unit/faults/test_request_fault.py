"""The request_fault spec (Netflix FIT): bad input is a file:line: field error, exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from chaoskit.errors import ConfigError
from chaoskit.faults import build
from chaoskit.faults.request_fault import RequestFaultFault
from chaoskit.loader import load_experiment
from chaoskit.model.faults import RequestFault

TOPOLOGY = Path(__file__).resolve().parents[3] / "targets" / "netflix_small.yaml"


def write(tmp_path: Path, fault: str, groups: str = "{control: true, share: 5%}") -> Path:
    path = tmp_path / "fit.yaml"
    path.write_text(f"""title: fit
topology: {TOPOLOGY}
load: {{locustfile: {TOPOLOGY.parent / "load" / "browsing.py"}, users: 2}}
groups: {groups}
steady_state:
  - {{name: pages, probe: load.success_ratio, window: 5s, compare: {{max_drop: 0.01}}}}
method:
  - {fault}
""")
    return path


def test_a_valid_fault_loads_and_describes_itself(tmp_path: Path) -> None:
    experiment = load_experiment(write(
        tmp_path, "{fault: request_fault, dependency: ratings, error: true, delay: 300ms}"))
    [spec] = experiment.method
    assert isinstance(spec, RequestFault) and spec.cohort == "experiment" and spec.delay == 0.3
    assert experiment.topology is not None
    assert spec.callers(experiment.topology) == ("recommendations",)
    fault = build(spec)
    assert isinstance(fault, RequestFaultFault)
    assert fault.describe() == ("calls to ratings fail and wait 300ms (experiment cohort)")


@pytest.mark.parametrize(("fault", "groups", "expected"), [
    ("{fault: request_fault, dependency: ratings}", None,
     "method[0].error: a request fault fails calls (error: true), delays them"),
    ("{fault: request_fault, dependency: ratings, delay: 2m}", None,
     "method[0].delay: at most 60s"),
    ("{fault: request_fault, dependency: ratngs, error: true}", None,
     "method[0].dependency: unknown service 'ratngs'"),
    ("{fault: request_fault, dependency: ratings, error: true, cohort: control}", None,
     "method[0].cohort: expected one of experiment"),
    ("{fault: request_fault, dependency: ratings, error: true, caller: gateway}", None,
     "method[0].caller: gateway does not call ratings"),
    ("{fault: request_fault, dependency: gateway, error: true}", None,
     "method[0].dependency: no service depends on gateway"),
    ("{fault: request_fault, dependency: ratings, error: true}", "{control: true}",
     "method[0].fault: request_fault faults the experiment cohort's requests"),
])
def test_bad_input_names_the_line_and_the_field(tmp_path: Path, fault: str,
                                                groups: str | None, expected: str) -> None:
    path = write(tmp_path, fault, *(() if groups is None else (groups,)))
    with pytest.raises(ConfigError) as raised:
        load_experiment(path)
    assert raised.value.exit_code == 2
    assert f"fit.yaml:8: {expected}" in str(raised.value)
