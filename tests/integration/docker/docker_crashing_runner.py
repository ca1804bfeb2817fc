"""A runner that starts the tiny topology on the docker platform and waits to be SIGKILLed.

``python docker_crashing_runner.py RUN_ID WORKDIR``: prints the container ids as one
JSON line once every instance is healthy, then blocks until killed. The test
SIGKILLs it, so only the state file (``$CHAOSKIT_STATE_DIR``) knows its containers.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from docker_topology import topology_dict

from chaoskit.model.topology import Topology
from chaoskit.platform.deployment import plan_launches
from chaoskit.platform.docker import DockerPlatform
from chaoskit.state import RunState


async def main(run_id: str, workdir: Path) -> None:
    launches = plan_launches(Topology.model_validate(topology_dict()), base_dir=str(workdir),
                             data_dir=workdir / "data")
    platform = DockerPlatform(RunState(run_id=run_id), run_id, workdir / "logs",
                              say=lambda _: None)
    await platform.start(launches, timeout=60)
    print(json.dumps([s.handle for s in platform.status()]), flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], Path(sys.argv[2])))
