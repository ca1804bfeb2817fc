"""Command probe: run a templated argv to completion; read its exit status or its output.

The command runs in its own process group; after ``timeout`` the whole group is
killed and reaped. A command that is not found, times out, fails, or prints no
number where one was asked for reads None with a detail naming the command.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
from collections.abc import Mapping
from pathlib import Path

from chaoskit.context import RunContext
from chaoskit.errors import ObserverError
from chaoskit.model.probes import CommandProbe, json_path_steps
from chaoskit.model.topology import Instance
from chaoskit.platform.base import InstanceState
from chaoskit.probes.base import Reading
from chaoskit.probes.metric import combine
from chaoskit.templates import HOST, Renderer, TemplateError

TAIL = 200


class CommandRun:
    def __init__(self, spec: CommandProbe) -> None:
        self.spec = spec

    @property
    def name(self) -> str:
        return f"command probe `{self.spec.command[0]}`"

    def _renderings(self, ctx: RunContext) -> list[tuple[str, tuple[str, ...], dict[str, str]]]:
        """``(label, argv, env)`` per run; raises TemplateError."""
        spec = self.spec
        topology = ctx.experiment.topology
        if topology is None:
            if spec.selector is not None:
                raise TemplateError(("selector",), "a selector needs a topology")
            names: Mapping[str, object] = {"host": HOST}
            return [("", *self._render(None, names))]
        renderer = Renderer(topology, {la.instance.id: la.ports for la in ctx.launches},
                            disabled=ctx.disabled)
        if spec.selector is None:
            return [("", *self._render(renderer, renderer.names(None)))]
        selector = spec.selector
        up = {s.instance.id for s in ctx.platform.status() if s.state == InstanceState.UP}
        chosen: list[Instance] = [i for i in ctx.select(selector) if i.id in up]
        return [(i.id, *self._render(renderer, renderer.names(i))) for i in chosen]

    def _render(self, renderer: Renderer | None, names: Mapping[str, object]
                ) -> tuple[tuple[str, ...], dict[str, str]]:
        if renderer is None:  # no topology: the text is the argv
            return self.spec.command, dict(self.spec.env)
        argv = tuple(renderer.render(a, names, ("command", i))
                     for i, a in enumerate(self.spec.command))
        env = {k: renderer.render(v, names, ("env", k)) for k, v in self.spec.env.items()}
        return argv, env

    async def read(
        self, ctx: RunContext, *, since: float | None = None, window: float | None = None
    ) -> Reading:
        try:
            runs = self._renderings(ctx)
        except TemplateError as error:
            where = ".".join(map(str, error.loc))
            return Reading(None, f"{self.name}: {where}: {error.message}")
        if not runs:
            return Reading(None, f"{self.name}: no selected instance is up")
        cwd = getattr(ctx.experiment, "base_dir", None)
        readings = await asyncio.gather(*(self.run_once(argv, env, cwd) for _, argv, env in runs))
        if len(runs) == 1 and not runs[0][0]:
            return readings[0]
        details = "; ".join(f"{label}: {r.detail}" for (label, _, _), r in zip(runs, readings,
                                                                              strict=True))
        values = [r.value for r in readings]
        if any(v is None for v in values):
            return Reading(None, details)
        found = [v for v in values if v is not None]
        return Reading(combine(found, self.spec.aggregate),
                       f"{self.spec.aggregate} of {len(found)}: {details}")

    async def run_once(self, argv: tuple[str, ...], env: Mapping[str, str],
                       cwd: str | Path | None) -> Reading:
        spec = self.spec
        try:
            process = await asyncio.create_subprocess_exec(
                *argv, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE, start_new_session=True,
                env={**os.environ, **env} if env else None,
                cwd=str(cwd) if cwd else None)
        except FileNotFoundError:
            raise ObserverError(f"{self.name}: {argv[0]!r} not found (not on PATH?)") from None
        except PermissionError:
            raise ObserverError(f"{self.name}: {argv[0]!r} is not executable") from None
        except OSError as error:
            return Reading(None, f"{self.name}: cannot start: {error}")
        try:
            async with asyncio.timeout(spec.timeout):  # not wait_for: see platform.health
                out, err = await process.communicate()
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            await process.wait()
            return Reading(None, f"{self.name}: timed out after {spec.timeout:g} s (killed)")
        finally:
            if process.returncode is None:  # cancelled: leave nothing behind
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                with contextlib.suppress(Exception):
                    await asyncio.shield(process.wait())
        status = process.returncode
        assert status is not None
        text = out.decode(errors="replace")
        if spec.regex is None and spec.json_path is None:
            return Reading(float(status), f"exit status {status}" + _tail(err, " stderr: "))
        if status != 0:
            return Reading(None, f"{self.name}: exit status {status}"
                                 + _tail(err or out, ": "))
        if spec.count:
            assert spec.regex is not None
            matches = len(re.findall(spec.regex, text, re.MULTILINE))
            return Reading(float(matches), f"{matches} matches of {spec.regex!r}")
        if spec.regex is not None:
            match = re.search(spec.regex, text, re.MULTILINE)
            if match is None:
                return Reading(None, f"{self.name}: no match for {spec.regex!r} in "
                                     f"{_excerpt(text)}")
            found = match.group(1) if match.re.groups else match.group(0)
            return _number(found, f"{self.name}: {spec.regex!r} matched {found!r}")
        assert spec.json_path is not None
        return read_json_path(text, spec.json_path, self.name)


def read_json_path(text: str, path: str, name: str) -> Reading:
    """The number at ``path`` in ``text`` parsed as JSON."""
    try:
        value: object = json.loads(text)
    except ValueError:
        return Reading(None, f"{name}: output is not JSON: {_excerpt(text)}")
    for step in json_path_steps(path) or []:
        try:
            value = _step(value, step)
        except LookupError:
            return Reading(None, f"{name}: json_path {path!r}: no {step!r} in the output")
    if isinstance(value, bool):
        return Reading(float(value), f"{path} = {str(value).lower()}")
    if isinstance(value, int | float):
        return Reading(float(value), f"{path} = {value}")
    if isinstance(value, str):
        return _number(value, f"{name}: {path} = {value!r}")
    return Reading(None, f"{name}: {path} is {type(value).__name__}, not a number")


def _step(value: object, step: str | int) -> object:
    if isinstance(value, dict):
        return value[step]
    if isinstance(value, list) and isinstance(step, int):
        return value[step]
    raise LookupError(step)


def _number(text: str, detail: str) -> Reading:
    try:
        return Reading(float(text), detail)
    except ValueError:
        return Reading(None, f"{detail}, not a number")


def _excerpt(text: str) -> str:
    text = text.strip()
    return repr(text[:TAIL] + ("..." if len(text) > TAIL else "")) if text else "empty output"


def _tail(data: bytes, prefix: str) -> str:
    text = data.decode(errors="replace").strip()
    return f"{prefix}{text[-TAIL:]}" if text else ""
