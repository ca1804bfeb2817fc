"""The one tree of errors chaoskit raises.

Users see these as a one-line message (file, line, field where known), never a
traceback. Each subclass maps to a documented exit code in ``chaoskit.cli``.
"""

from __future__ import annotations


class ChaoskitError(Exception):
    """Base of every error chaoskit raises on purpose."""

    exit_code = 4


class ConfigError(ChaoskitError):
    """Bad input: an experiment, topology or flag that cannot be used (exit 2)."""

    exit_code = 2

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        field: str | None = None,
    ) -> None:
        self.message = message
        self.file = file
        self.line = line
        self.field = field
        super().__init__(self.render())

    def render(self) -> str:
        where = ""
        if self.file:
            where = self.file if self.line is None else f"{self.file}:{self.line}"
        if self.field:
            where = f"{where}: {self.field}" if where else self.field
        return f"{where}: {self.message}" if where else self.message


class PlatformError(ChaoskitError):
    """The platform could not start, kill, pause or restore an instance (exit 4)."""


class ProxyError(ChaoskitError):
    """The proxy server refused or failed a call (exit 4)."""


class LoadError(ChaoskitError):
    """The load generator could not be started or died (exit 4)."""


class FaultError(ChaoskitError):
    """A fault could not be injected or reverted (exit 4)."""


class ProbeError(ChaoskitError):
    """A probe could not take a reading."""


class ObserverError(ProbeError):
    """The measuring tool failed, not the system: a Prometheus that does not answer or
    rejects the query, a probe command that does not exist. The reading is recorded as
    blind and the run ends in error (exit 4): a verdict about the system would be false."""
