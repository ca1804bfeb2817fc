"""Chaos Toolkit experiments run by chaoskit: the format, the tolerance judge, the engine.

``chaoskit run experiment.json`` recognises a CTK experiment by its keys and
runs it here: CTK's run flow and judgement, chaoskit's guarantees (rollbacks
on Ctrl-C and SIGTERM, no method on a hypothesis that does not hold first,
chaoskit's exit codes), a journal in CTK's ``journal.json`` shape and
chaoskit's ``report.html`` and ``junit.xml``.
"""

from __future__ import annotations

from chaoskit.ctk.engine import CtkRunOptions, CtkRunResult, check_ctk, run_ctk
from chaoskit.ctk.journal import CtkJournal, read_ctk_journal
from chaoskit.ctk.load import is_ctk_data, is_ctk_file, load_ctk, parse_ctk
from chaoskit.ctk.model import (
    Activity,
    CtkExperiment,
    HttpProvider,
    Hypothesis,
    ProcessProvider,
    PythonProvider,
    Ref,
    Tolerance,
)
from chaoskit.ctk.substitute import substitute
from chaoskit.ctk.tolerance import (
    describe_tolerance,
    is_valid_tolerance,
    parse_tolerance,
    tolerance_holds,
)

__all__ = [
    "Activity",
    "CtkExperiment",
    "CtkJournal",
    "CtkRunOptions",
    "CtkRunResult",
    "HttpProvider",
    "Hypothesis",
    "ProcessProvider",
    "PythonProvider",
    "Ref",
    "Tolerance",
    "check_ctk",
    "describe_tolerance",
    "is_ctk_data",
    "is_ctk_file",
    "is_valid_tolerance",
    "load_ctk",
    "parse_ctk",
    "parse_tolerance",
    "read_ctk_journal",
    "run_ctk",
    "substitute",
    "tolerance_holds",
]
