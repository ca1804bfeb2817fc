"""The one error type of the HTTP API, rendered as Toxiproxy's ``{"error", "status"}``."""

from __future__ import annotations


class ApiError(Exception):
    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


NOT_FOUND_PROXY = "proxy not found"
NOT_FOUND_TOXIC = "toxic not found"
EXISTS_PROXY = "proxy already exists"
EXISTS_TOXIC = "toxic already exists"
