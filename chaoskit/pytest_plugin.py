"""chaoskit's pytest plugin (entry point ``pytest11``): markers and fixtures for resilience tests."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "chaos: a resilience test that injects faults into real processes"
    )
