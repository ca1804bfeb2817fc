"""The corpus table: experiment, CTK result, chaoskit result.

``python -m tests.integration.ctk.table`` runs every corpus experiment under
both engines (two runs at a time) and prints a Markdown table; the oracle test
prints the same table from its own runs (``pytest -s``).
"""

from __future__ import annotations

import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tests.ctk_corpus import harness
from tests.ctk_corpus.cases import CASES, Case, Difference
from tests.ctk_corpus.harness import Judgement, Outcome


def _judged(judgements: list[Judgement] | None) -> str:
    if not judgements:
        return "-"
    return "".join({True: "✓", False: "✗", None: "?"}[j.tolerance_met] for j in judgements)


def _cell(outcome: Outcome) -> str:
    if outcome.status is None:
        return f"no journal, exit {outcome.returncode}"
    dev = ", deviated" if outcome.deviated else ""
    rollbacks = f", {len(outcome.rollbacks)} rollback(s)" if outcome.rollbacks else ""
    return (f"{outcome.status}{dev}, exit {outcome.returncode}; before {_judged(outcome.before)}"
            f" after {_judged(outcome.after)}{rollbacks}; {outcome.seconds:.1f} s")


def _note(case: Case, ctk: Outcome, ours: Outcome) -> str:
    same = (ours.status, ours.deviated, ours.before, ours.after) == \
        (ctk.status, ctk.deviated, ctk.before, ctk.after)
    if case.difference is Difference.GATE:
        skipped = "; no rollbacks (nothing was done)" if ctk.rollbacks and not ours.rollbacks \
            else ""
        return f"same judgement; documented gate: chaoskit exits 3{skipped}" if same \
            else "DIFFERS"
    if case.difference is Difference.INTERRUPT:
        return "documented: chaoskit plays rollbacks on SIGTERM" \
            if ours.status == "interrupted" and ours.rollbacks and not ctk.rollbacks \
            else "DIFFERS"
    return "same" if same and ours.rollbacks == ctk.rollbacks else "DIFFERS"


def render(results: dict[str, tuple[Outcome, Outcome]]) -> str:
    lines = ["| experiment | covers | CTK 1.19.0 | chaoskit | notes |",
             "|---|---|---|---|---|"]
    for case in CASES:
        if case.file not in results:
            continue
        ctk, ours = results[case.file]
        lines.append(f"| {case.file} | {case.covers} | {_cell(ctk)} | {_cell(ours)} | "
                     f"{_note(case, ctk, ours)} |")
    agree = sum(1 for c in CASES if c.file in results
                and not _note(c, *results[c.file]).startswith("DIFFERS"))
    lines.append(f"\n{agree}/{len(results)} agree (or differ only as documented). "
                 "✓/✗: each hypothesis probe's tolerance_met, in order.")
    return "\n".join(lines)


def run_all(root: Path) -> dict[str, tuple[Outcome, Outcome]]:
    jobs = [(case, engine) for case in CASES for engine in ("ctk", "chaoskit")]

    def one(job: tuple[Case, harness.Engine]) -> Outcome:
        case, engine = job
        return harness.run(engine, harness.CORPUS_DIR / case.file,
                           root / Path(case.file).stem / engine)

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(one, jobs))
    return {case.file: (results[2 * i], results[2 * i + 1]) for i, case in enumerate(CASES)}


def main() -> int:
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="ctk-table-") as root:
        results = run_all(Path(root))
    print(render(results))
    print(f"\n{len(CASES)} experiments, 2 engines in {time.monotonic() - started:.0f} s "
          "(two runs at a time)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
