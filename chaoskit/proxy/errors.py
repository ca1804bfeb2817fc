"""Typed errors of the proxy API, all :class:`chaoskit.errors.ProxyError`."""

from __future__ import annotations

from chaoskit.errors import ProxyError


class ProxyApiError(ProxyError):
    """The server answered with an error status."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(f"proxy API: HTTP {status}: {message}")
        self.message = message
        self.status = status


class BadRequest(ProxyApiError):
    """400: the request was malformed or its values invalid."""


class NotFound(ProxyApiError):
    """404: no such proxy or toxic."""


class Conflict(ProxyApiError):
    """409: a proxy or toxic of that name already exists."""


class ServerFailure(ProxyApiError):
    """5xx: the server failed (e.g. the listen address is taken)."""


class ProxyUnavailable(ProxyError):
    """The server could not be reached or did not answer in time."""


def error_for(status: int, message: str) -> ProxyApiError:
    kind = {400: BadRequest, 404: NotFound, 409: Conflict}.get(status)
    if kind is None:
        kind = ServerFailure if status >= 500 else ProxyApiError
    return kind(message, status)
