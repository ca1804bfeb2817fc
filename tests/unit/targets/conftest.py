"""Fixtures of the target tests (defined in targets_support, importable by the tests)."""

from targets_support import make_config, servers

__all__ = ["make_config", "servers"]
