"""Judging a journal again from the data it stores.

A journal keeps every reading's value and tolerance, and the rules it was
judged by, so its verdict can be computed again long after the run — by a
newer chaoskit, or against other tolerances: "would this run have passed
with p99 ≤ 300 ms?". Only the steady state's readings are judged again;
what the run *did* on its readings at the time (a guardrail that aborted
it, the time to recover it waited for) stays as it happened.
"""

from __future__ import annotations

from chaoskit.checks.verdict import judge_as
from chaoskit.errors import ConfigError
from chaoskit.model.experiment import Experiment
from chaoskit.model.history import History, ProbeReading
from chaoskit.report.journal import Journal


def rejudge(journal: Journal, against: Experiment | None = None) -> Journal:
    """The journal with its judgement computed again; with ``against``, under that
    experiment's steady-state tolerances, matched to the readings by probe name."""
    experiment, history = journal.experiment, journal.history
    if against is not None:
        experiment, history = _with_tolerances(journal, against)
    judgement = judge_as(journal.judging, experiment, history)
    return journal.model_copy(update={"experiment": experiment, "history": history,
                                      "judgement": judgement})


def _with_tolerances(journal: Journal, against: Experiment) -> tuple[Experiment, History]:
    tolerances = {p.name: p.tolerance for p in against.steady_state}
    known = {p.name for p in journal.experiment.steady_state}
    unknown = sorted(set(tolerances) - known)
    if unknown:
        raise ConfigError(f"no reading of {', '.join(map(repr, unknown))} in the journal; "
                          f"its probes are {', '.join(map(repr, sorted(known)))}",
                          file=against.source)
    steady_state = tuple(p.model_copy(update={"tolerance": tolerances.get(p.name, p.tolerance)})
                         for p in journal.experiment.steady_state)
    events = []
    for event in journal.history.events:
        if (isinstance(event, ProbeReading) and event.role == "steady_state"
                and event.name in tolerances):
            event = event.model_copy(update={"tolerance": tolerances[event.name]})
            event = event.model_copy(update={"ok": event.holds})
        events.append(event)
    return (journal.experiment.model_copy(update={"steady_state": steady_state}),
            History(events=events))
