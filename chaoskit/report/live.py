"""The live terminal panel: phase and progress, live traffic, active faults, last readings.

Redrawn by rich a few times a second from state that :meth:`LiveView.event`
updates, so the clock keeps moving between events. The panel is cleared of
nothing when the run ends: it stays on screen above the verdict, as the last
state the run was in. With control and experiment groups the load row shows
each group on its own line (experiment first), and a compared reading both
groups' values and the test's p-value.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.panel import Panel
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from chaoskit.model.history import (
    AnyEvent,
    FaultEvent,
    LoadSample,
    PhaseStarted,
    ProbeReading,
)
from chaoskit.model.history import Group as LoadGroup
from chaoskit.model.verdict import Judgement
from chaoskit.report.plain import PlainView, describe_load, format_value
from chaoskit.report.plain import verdict_lines as _verdict_lines
from chaoskit.report.series import GROUP_ORDER, compared_text, group_label

VERDICT_STYLES = {
    "passed": "bold white on green",
    "deviated": "bold white on red",
    "aborted": "bold white on dark_red",
    "not_steady": "bold black on dark_orange",
    "error": "bold white on purple",
    "interrupted": "bold white on grey37",
}
SPARK = " ▁▂▃▄▅▆▇█"


class LiveView:
    """A rich panel redrawn while the run goes on."""

    def __init__(self, title: str, expected_seconds: float | None = None,
                 console: Console | None = None) -> None:
        self.title = title
        self.expected = expected_seconds
        self.console = console or Console()
        self.phase = "starting"
        self.started: float | None = None
        self.samples: dict[LoadGroup, deque[LoadSample]] = {}
        """The last minute of samples, per group ("" for an ungrouped run)."""
        self.active: dict[str, _ActiveFault] = {}
        self.readings: dict[tuple[str, str], ProbeReading] = {}
        self.recent: deque[str] = deque(maxlen=6)
        # The plain view's filter decides which events are worth a line in "recent".
        self._lines = PlainView(title)
        self._origin: float | None = None
        self._live: Live | None = None

    def start(self) -> None:
        if self._live is not None:
            return
        self.started = time.time()
        self._live = Live(get_renderable=self.render, console=self.console,
                          refresh_per_second=4, transient=False)
        self._live.start()

    def event(self, e: AnyEvent) -> None:
        if self._live is None:
            self.start()
        if self._origin is None:
            self._origin = e.t
        if isinstance(e, PhaseStarted):
            self.phase = e.phase.value
        elif isinstance(e, LoadSample):
            self.samples.setdefault(e.group, deque(maxlen=60)).append(e)
        elif isinstance(e, FaultEvent):
            self._fault(e)
        elif isinstance(e, ProbeReading):
            self.readings[(e.role, e.name)] = e
        line = None if isinstance(e, LoadSample) else self._lines.describe(e)
        if line is not None:
            self.recent.append(f"{e.t - self._origin:6.1f}s  {line}")

    def stop(self, judgement: Judgement, run_dir: Path) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None
        verdict = judgement.verdict.value
        self.console.print()
        self.console.print(Text(f" {verdict.upper()} ", style=VERDICT_STYLES[verdict]),
                           Text(self.title, style="bold"))
        for line in _verdict_lines(judgement, run_dir, self.title)[2:]:
            self.console.print(line, markup=False, highlight=False)

    def _fault(self, e: FaultEvent) -> None:
        known = self.active.get(e.fault)
        if e.step in ("revert_effective", "revert_failed", "inject_failed"):
            self.active.pop(e.fault, None)
            return
        state = {"inject_called": "injecting", "inject_effective": "in effect",
                 "revert_called": "reverting"}[e.step]
        since = known.since if known is not None and e.step == "revert_called" else e.t
        targets = e.targets or (known.targets if known is not None else ())
        self.active[e.fault] = _ActiveFault(e.label, targets, since, state)

    # -- drawing -------------------------------------------------------------------------

    def render(self) -> RenderableType:
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="bold cyan", no_wrap=True)
        grid.add_column()
        grid.add_row("phase", self._progress())
        grid.add_row("load", self._load())
        grid.add_row("faults", self._faults())
        grid.add_row("probes", self._probes())
        # Long lines are cut, not wrapped: the panel keeps its height as events arrive.
        recent = Text("\n".join(self.recent), style="dim", no_wrap=True, overflow="ellipsis")
        return Panel(Group(grid, Text(""), recent), title=f"chaoskit · {self.title}",
                     title_align="left", border_style="cyan")

    def _progress(self) -> RenderableType:
        elapsed = time.time() - self.started if self.started is not None else 0.0
        line = Table.grid(padding=(0, 2))
        text = Text.assemble((self.phase, "bold"), f"   elapsed {_clock(elapsed)}")
        if not self.expected:
            line.add_row(text)
            return line
        left = max(0.0, self.expected - elapsed)
        bar = ProgressBar(total=self.expected, completed=min(elapsed, self.expected), width=28)
        line.add_row(text, bar, Text(f"~{_clock(left)} left", style="dim"))
        return line

    def _load(self) -> RenderableType:
        if not self.samples:
            return Text("waiting for the first load sample", style="dim")
        groups = [g for g in GROUP_ORDER if g in self.samples]
        if groups == [""]:
            return self._group_load(self.samples[""], "")
        width = max(len(group_label(g)) for g in groups)
        return Group(*(self._group_load(self.samples[g], f"{group_label(g):<{width}}  ")
                       for g in groups))

    @staticmethod
    def _group_load(samples: deque[LoadSample], label: str) -> Text:
        recent = list(samples)[-5:]
        spark = "".join(_spark(s) for s in list(samples)[-30:])
        colour = "grey62" if label.startswith("control") else "green"
        line = describe_load(recent, recent[-1].users)
        # Grouped lines keep the number's padding, so the groups' columns line up.
        return Text.assemble((label, "bold"), line if label else line.strip(), "   ",
                             (spark, colour))

    def _faults(self) -> RenderableType:
        if not self.active:
            return Text("none active", style="dim")
        now = time.time()
        lines = []
        for fault, active in sorted(self.active.items()):
            lines.append(Text.assemble((f"{fault} {active.label}", "bold yellow"),
                                       f"  {active.state} {now - active.since:.0f}s",
                                       f"  {len(active.targets)} targets"
                                       if active.targets else ""))
        return Group(*lines)

    def _probes(self) -> RenderableType:
        if not self.readings:
            return Text("no readings yet", style="dim")
        table = Table.grid(padding=(0, 2))
        # The hypothesis first, then guardrails, then recovery checks.
        order = {"steady_state": 0, "guardrail": 1, "recovery": 2}
        for (role, name), r in sorted(self.readings.items(),
                                      key=lambda item: (order[item[0][0]], item[0][1])):
            mark = Text("ok", style="green") if r.ok else Text("FAIL", style="bold red")
            table.add_row(Text(f"{role.replace('_', ' ')}", style="dim"), Text(name),
                          Text(compared_text(r, format_value)), Text(r.expected, style="dim"),
                          mark, Text(r.phase.value, style="dim"))
        return table


@dataclass(frozen=True)
class _ActiveFault:
    label: str
    targets: tuple[str, ...]
    since: float
    """When it was injected (kept while it is being reverted)."""
    state: str


def _spark(sample: LoadSample) -> str:
    """One block per second: its success ratio, from 90% (empty) to 100% (full)."""
    total = sample.total
    if total.requests == 0:
        return " "
    ratio = (total.requests - total.failures) / total.requests
    level = min(len(SPARK) - 1, max(0, round((ratio - 0.9) / 0.1 * (len(SPARK) - 1))))
    return SPARK[level]


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}:{secs:02d}"
