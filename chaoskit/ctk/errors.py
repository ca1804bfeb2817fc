"""How a CTK activity or run fails."""

from __future__ import annotations


class ActivityFailed(Exception):
    """The activity ran and failed (CTK's ``ActivityFailed``): a connection refused, a
    timeout, a Python function that raised. Recorded on its run; the method goes on."""


class Interrupted(BaseException):
    """SIGINT or SIGTERM arrived: raised in the main thread so whatever runs stops, then the
    rollbacks run. A BaseException so no provider's ``except Exception`` swallows it."""

    def __init__(self, signal_name: str) -> None:
        super().__init__(signal_name)
        self.signal_name = signal_name
