"""Fixtures of the observability tests: the CLI runs' own."""

from tests.integration.runner.conftest import chaoskit  # noqa: F401  (the CLI runs' fixture)
