"""The three CTK provider types, one module each, and the one place that dispatches on them."""

from __future__ import annotations

from typing import Any

from chaoskit.ctk.model import HttpProvider, ProcessProvider, Provider
from chaoskit.ctk.providers.process import LiveProcesses
from chaoskit.ctk.substitute import Configuration, Secrets


def run_provider(provider: Provider, configuration: Configuration, secrets: Secrets,
                 live: LiveProcesses | None = None) -> Any:
    """The provider's output; raises :class:`~chaoskit.ctk.errors.ActivityFailed`."""
    if isinstance(provider, HttpProvider):
        from chaoskit.ctk.providers.http import run_http

        return run_http(provider, configuration, secrets)
    if isinstance(provider, ProcessProvider):
        from chaoskit.ctk.providers.process import run_process

        return run_process(provider, configuration, secrets, live)
    from chaoskit.ctk.providers.python import run_python

    return run_python(provider, configuration, secrets)
