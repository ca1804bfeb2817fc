"""Teeth for the examples: third-party programs (Debian's redis, nginx, etcd) under
chaoskit with no wrapper code, each experiment run with and without its own defence.

The runs are shortened copies of ``examples/*/experiments/*.yaml``, as the
resilience tests shorten ``experiments/``: the same topology, load, probes,
tolerances and faults, over less time. The programs must be installed
(``.ci/run`` installs them); on a laptop without them these tests skip, saying so.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from chaoskit.loader.paths import resolve
from chaoskit.model.duration import parse_seconds
from tests.resilience.conftest import pair_dir

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


def require(*programs: str) -> None:
    missing = [p for p in programs if shutil.which(p) is None]
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed (Debian: apt-get install "
                    "redis-server redis-sentinel nginx etcd-server etcd-client; .ci/run does)")


def shortened_example(path: str, folder: Path, *, window: float = 5.0, warmup: float = 2.0,
                      recover_within: float | None = None,
                      method: Mapping[int, Mapping[str, str]] | None = None) -> Path:
    """A copy of ``examples/<path>`` with its time cut (windows capped at ``window``,
    ``warmup`` replaced, faults changed by index) and its paths made absolute."""
    source = EXAMPLES / path
    data: dict[str, Any] = yaml.safe_load(source.read_text())
    data["topology"] = str(resolve(data["topology"], source).path)
    data["load"]["locustfile"] = str(resolve(data["load"]["locustfile"], source).path)
    for probe in data["steady_state"]:
        # A breach probe's window is what it measures (seconds of failover): kept whole.
        if "window" in probe and "breach" not in probe:
            probe["window"] = f"{min(window, parse_seconds(probe['window'])):g}s"
    for index, fields in (method or {}).items():
        data["method"][index].update(fields)
    settings = {**data.get("settings", {}), "warmup": f"{warmup:g}s"}
    if recover_within is not None:
        settings["recover_within"] = f"{recover_within:g}s"
    data["settings"] = settings
    copy = folder / source.name
    copy.write_text(yaml.safe_dump(data, sort_keys=False))
    return copy


__all__ = ["pair_dir", "require", "shortened_example"]
