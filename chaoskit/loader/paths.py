"""Where a relative path in an experiment points.

The rule, the same for ``topology:``, ``load.locustfile`` and
``load_topology()``: the current working directory first, then the directory
of the file that names the path, then that directory's parents upward; the
first that holds the file wins. So ``chaoskit run experiments/x.yaml`` from
the repository root and ``chaoskit run x.yaml`` from ``experiments/`` find the
same ``targets/netflix.yaml``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Resolved:
    path: Path
    """Absolute path of the file found."""
    root: Path
    """The directory the relative path was resolved against (its own directory if absolute)."""


class NotFound(Exception):
    """No candidate held the file; ``tried`` says where it was looked for."""

    def __init__(self, reference: str, tried: str) -> None:
        self.reference = reference
        self.tried = tried
        super().__init__(f"{reference!r} not found; tried {tried}")


def search_dirs(referrer: Path | None) -> list[Path]:
    """Candidate base directories, in order, without repeats."""
    dirs = [Path.cwd()]
    if referrer is not None:
        here = referrer.absolute().parent
        dirs += [here, *here.parents]
    unique: list[Path] = []
    for candidate in dirs:
        if candidate not in unique:
            unique.append(candidate)
    return unique


def resolve(reference: str, referrer: Path | None, *, directory: bool = False) -> Resolved:
    """Find ``reference`` (a file, or a directory if ``directory``) by the rule above."""
    wanted = Path(reference).expanduser()
    exists = Path.is_dir if directory else Path.is_file
    if wanted.is_absolute():
        if exists(wanted):
            return Resolved(_normal(wanted), _normal(wanted).parent)
        raise NotFound(reference, str(wanted))
    dirs = search_dirs(referrer)
    for base in dirs:
        if exists(base / wanted):
            return Resolved(_normal(base / wanted), base)
    tried = ", ".join(str(base / wanted) for base in dirs[:2])
    if len(dirs) > 2:
        tried += f" and the parent directories of {dirs[1]}"
    raise NotFound(reference, tried)


def shown(path: Path) -> str:
    """``path`` as messages show it: relative to the working directory when inside it."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _normal(path: Path) -> Path:
    # normpath, not resolve(): keep symlinked checkouts' paths as the user sees them.
    return Path(os.path.normpath(path.absolute()))
