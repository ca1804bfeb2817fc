"""What each corpus experiment covers, what the real CTK makes of it, and where chaoskit
differs on purpose.

``ctk`` is the status/deviated pair CTK 1.19.0 (chaostoolkit-lib 1.44) gives; the
oracle test asserts it first, so a port that stops exercising what it claims
fails loudly instead of comparing two engines on the wrong thing.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Difference(Enum):
    """A documented, deliberate difference between chaoskit and CTK (README, "Coming from
    Chaos Toolkit")."""

    NONE = "none"
    GATE = "gate"
    """The hypothesis fails before the method: nothing runs after it and chaoskit exits 3
    (CTK exits 1 when a probe raised, 0 when a tolerance was not met, and still plays the
    rollbacks under the default strategy)."""
    INTERRUPT = "interrupt"
    """SIGTERM/Ctrl-C: chaoskit plays the rollbacks and exits 130; CTK skips them (default
    strategy) and exits 1."""


@dataclass(frozen=True)
class Case:
    file: str
    covers: str
    ctk_status: str
    ctk_deviated: bool
    difference: Difference = Difference.NONE


CASES: tuple[Case, ...] = (
    Case("01-check-file-exists.json", "passing; bool tolerance", "completed", False),
    Case("02-check-file-exists-deviated.json", "deviated after the method", "completed", True),
    Case("03-check-file-exists-fail.json", "hypothesis probe raises (gate)", "failed", False,
         Difference.GATE),
    Case("04-http-status-tolerance.json", "http probe, list tolerance on status", "completed",
         False),
    Case("05-http-status-gate-not-met.json", "gate tolerance not met; rollbacks", "completed",
         False, Difference.GATE),
    Case("06-various-tolerances.json",
         "bool, int (process status), list, regex (body, stdout), probe tolerance",
         "completed", False),
    Case("07-failed-action-rollback.json", "failing action, then rollbacks", "completed",
         False),
    Case("08-failed-hypothesis-probe-rollback.json", "raising gate probe; no rollbacks",
         "failed", False, Difference.GATE),
    Case("09-background-activity.json", "background activity", "completed", False),
    Case("10-pauses.json", "pauses before/after, in rollbacks and background", "completed",
         False),
    Case("11-ref-probe.json", "ref in method and rollbacks", "completed", False),
    Case("12-strategy-before-method-only.json", "strategy before-method-only (runtime)",
         "completed", False),
    Case("13-strategy-after-method-only.json", "strategy after-method-only (runtime)",
         "completed", False),
    Case("14-strategy-during-method.json", "strategy during-method-only (runtime)",
         "completed", False),
    Case("15-strategy-continuously-deviated.json",
         "strategy continuously; deviates during and after", "completed", True),
    Case("16-configuration-substitution.json",
         "configuration: env (default, env_var_type), literals; ${} in title, url, "
         "arguments, string tolerance", "completed", False),
    Case("17-secrets-env-and-inline.json", "secrets: env and inline, header and python",
         "completed", False),
    Case("18-tolerance-range.json", "range, 2-item list, probe tolerance", "completed", False),
    Case("19-tolerance-jsonpath.json", "jsonpath: expect, count, body and mapping",
         "completed", False),
    Case("20-lang-file-deviated.json",
         "docs tutorial: int, regex, probe tolerances; deviated; rollbacks", "completed", True),
    Case("21-slow-probe-after-method.json", "http timeout after the method: failed, deviated",
         "failed", True),
    Case("22-failing-probes-in-method.json", "failing probes in the method (no judgement)",
         "completed", False),
    Case("23-yaml-experiment.yaml", "YAML experiment; ${} in a flow list", "completed", False),
    Case("24-rollback-strategy-always.json", "rollback strategy always (runtime)", "failed",
         False, Difference.GATE),
    Case("25-interrupted-rollbacks.json", "SIGTERM during the method", "interrupted", False,
         Difference.INTERRUPT),
    Case("26-rollback-strategy-deviated.json", "rollback strategy deviated (runtime)",
         "completed", True),
    Case("27-rollback-strategy-never.json", "rollback strategy never (runtime)", "completed",
         False),
)
