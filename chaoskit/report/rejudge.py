"""Judging a journal again from the data it stores.

A journal keeps every reading's value and tolerance, and the rules it was
judged by, so its verdict can be computed again long after the run — by a
newer chaoskit, or against other tolerances: "would this run have passed
with p99 ≤ 300 ms?". Only the steady state's readings are judged again;
what the run *did* on its readings at the time (a guardrail that aborted
it, the time to recover it waited for) stays as it happened.
"""

from __future__ import annotations

from chaoskit.checks.compare import p_beyond_margin
from chaoskit.checks.verdict import judge_as
from chaoskit.errors import ConfigError
from chaoskit.model.experiment import Experiment, SteadyStateProbe
from chaoskit.model.history import History, ProbeReading
from chaoskit.report.journal import Journal


def rejudge(journal: Journal, against: Experiment | None = None) -> Journal:
    """The journal with its judgement computed again; with ``against``, under that
    experiment's steady-state tolerances and comparisons, matched to the readings by
    probe name (a compared reading is tested again under a new margin)."""
    experiment, history = journal.experiment, journal.history
    if against is not None:
        experiment, history = _with_tolerances(journal, against)
    judgement = judge_as(journal.judging, experiment, history)
    return journal.model_copy(update={"experiment": experiment, "history": history,
                                      "judgement": judgement})


def _with_tolerances(journal: Journal, against: Experiment) -> tuple[Experiment, History]:
    judged = {p.name: p for p in against.steady_state}
    known = {p.name for p in journal.experiment.steady_state}
    unknown = sorted(set(judged) - known)
    if unknown:
        raise ConfigError(f"no reading of {', '.join(map(repr, unknown))} in the journal; "
                          f"its probes are {', '.join(map(repr, sorted(known)))}",
                          file=against.source)
    steady_state = tuple(
        p.model_copy(update={"tolerance": judged[p.name].tolerance,
                             "compare": judged[p.name].compare}) if p.name in judged else p
        for p in journal.experiment.steady_state)
    events = []
    for event in journal.history.events:
        if (isinstance(event, ProbeReading) and event.role == "steady_state"
                and event.name in judged):
            event = _judged_again(event, judged[event.name], against)
        events.append(event)
    return (journal.experiment.model_copy(update={"steady_state": steady_state}),
            History(events=events))


def _judged_again(reading: ProbeReading, probe: SteadyStateProbe,
                  against: Experiment) -> ProbeReading:
    """The reading under ``probe``'s tolerance and comparison. A new margin needs the test
    again: on the per-second values the reading kept (the control's value stays as read)."""
    compare = probe.compare
    update: dict[str, object] = {"tolerance": probe.tolerance, "compare": compare}
    if compare is not None and compare != reading.compare:
        if not reading.control_values:
            raise ConfigError(f"{probe.name!r} compares with the control group, but the "
                              "journal's readings of it have no control group's values",
                              file=against.source)
        update["p_value"] = p_beyond_margin(compare, reading.values, reading.control_values)
    reading = reading.model_copy(update=update)
    return reading.model_copy(update={"ok": reading.holds})
