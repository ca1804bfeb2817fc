"""The judgement of a run."""

from __future__ import annotations

from enum import StrEnum

from chaoskit.model.base import Model


class Verdict(StrEnum):
    PASSED = "passed"
    DEVIATED = "deviated"
    ABORTED = "aborted"
    NOT_STEADY = "not_steady"
    ERROR = "error"
    INTERRUPTED = "interrupted"

    @property
    def exit_code(self) -> int:
        return {
            Verdict.PASSED: 0,
            Verdict.DEVIATED: 1,
            Verdict.ABORTED: 1,
            Verdict.NOT_STEADY: 3,
            Verdict.ERROR: 4,
            Verdict.INTERRUPTED: 130,
        }[self]


class Judging(StrEnum):
    """Which rules a history is judged by."""

    EXPERIMENT = "experiment"
    """A run of an experiment: baseline gate, guardrails, during, recovery, verify."""
    CHECKS = "checks"
    """A system tests drove (the pytest plugin): its checks are the hypothesis."""


class Judgement(Model):
    """A verdict and the reasons for it, one line each."""

    verdict: Verdict
    reasons: tuple[str, ...] = ()
