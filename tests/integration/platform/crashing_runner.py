"""A runner that starts the echo topology on the local platform and then waits to be killed.

Run from the repo root as ``python -m tests.integration.platform.crashing_runner
MARKER WORKDIR``: prints the instances' pids as one JSON line once all are healthy,
then blocks. The test SIGKILLs it, so its instances are left behind with only the
state file to find them by.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from chaoskit.platform.local import LocalPlatform
from chaoskit.state import RunState
from tests.integration.platform.echo_topology import echo_launches, echo_topology


async def main(marker: str, workdir: Path) -> None:
    platform = LocalPlatform(RunState(run_id=f"crashed-{marker}"), workdir / "logs")
    await platform.start(echo_launches(echo_topology(marker), workdir / "data"), timeout=30)
    print(json.dumps([int(s.handle) for s in platform.status()]), flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], Path(sys.argv[2])))
