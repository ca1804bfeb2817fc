"""The image instances run in, and what each container mounts, with or without a registry.

Two strategies, chosen once for all the engines a run uses (:func:`ensure_images`), so
every zone runs the same runtime, each engine holding its own copy of the image:

``image`` — a Python base image (``python:3.11-slim`` by default, or
``$CHAOSKIT_DOCKER_BASE_IMAGE``) is present on the engine: ``targets/Dockerfile``
is built on it with chaoskit installed (tag ``chaoskit/targets:<context hash>``,
reused while the sources do not change). The interpreter in the argv is the
image's ``python``; the instance's working directory and data directory are
bind-mounted at their host paths. The base image is never pulled: a run must not
depend on a registry.

``bind`` — the fallback, and what runs where no registry is reachable:
``chaoskit/local-runtime`` is imported from a tarball that holds nothing but
the host's top-level layout (``bin -> usr/bin`` symlinks on a merged-/usr host,
empty mount points otherwise). Each container bind-mounts, read-only, the host
directories the instance needs — ``/usr``, ``/etc``, the interpreter's
``sys.base_prefix`` and the venv's ``sys.prefix``, the chaoskit source tree and
the working directory — and its data directory read-write, so the *same* argv
as the local platform runs inside a real container: its own PID namespace,
cgroup, pause (freezer) and kill semantics. This only works on an engine that
shares the host's filesystem (a local socket).
"""

from __future__ import annotations

import hashlib
import io
import os
import sys
import tarfile
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

import docker
import docker.errors
from docker.types import Mount

DEFAULT_BASE_IMAGE = "python:3.11-slim"
RUNTIME_REPOSITORY = "chaoskit/local-runtime"
TARGETS_REPOSITORY = "chaoskit/targets"
IMAGE_LABEL = "chaoskit.image"

# Top-level directories the fallback image mirrors from the host. Symlinks are
# copied as symlinks (merged /usr); real directories become mount points.
_TOP_LEVEL = ("bin", "sbin", "lib", "lib32", "lib64", "libx32", "usr", "etc")
_SYSTEM_MOUNTS = ("/usr", "/etc", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")

Mode = Literal["image", "bind"]


@dataclass(frozen=True)
class RuntimeImage:
    """The image chosen for one engine and how argv and mounts are adapted to it."""

    mode: Mode
    ref: str
    base: str = ""
    base_elsewhere: bool = False
    """``bind`` although the base is here: another engine of the run lacks it."""

    def describe(self) -> str:
        if self.mode == "image":
            return f"image {self.ref} built from targets/Dockerfile on {self.base}"
        where = "every engine of the run" if self.base_elsewhere else "the engine"
        return (f"image {self.ref} (imported, empty) with the host's interpreter and "
                f"libraries bind-mounted read-only; {self.base or DEFAULT_BASE_IMAGE} "
                f"is not present on {where}")


def source_root() -> Path:
    """The directory holding the ``chaoskit`` package (the repository in a checkout)."""
    return Path(__file__).resolve().parents[2]  # chaoskit/platform/docker_image.py


def ensure_image(client: docker.DockerClient, base_image: str | None = None, *,
                 build: bool | None = None) -> RuntimeImage:
    """Pick and, if needed, create the image for ``client``'s engine. Blocking.

    ``build=False`` takes the ``bind`` strategy whatever this engine holds (another
    engine of the run cannot build); ``None`` decides from this engine alone.
    """
    base = _base(base_image)
    if build is None:
        build = can_build(client, base)
    if build:
        return RuntimeImage("image", _build_targets(client, base, _dockerfile()), base)
    return RuntimeImage("bind", import_runtime(client), base)


class EngineUnavailable(Exception):
    """An engine failed while its image was prepared; ``engine`` says which."""

    def __init__(self, engine: str, cause: BaseException) -> None:
        super().__init__(f"{engine or 'default'}: {cause}")
        self.engine = engine
        self.cause = cause


def ensure_images(clients: Mapping[str, docker.DockerClient],
                  base_image: str | None = None) -> dict[str, RuntimeImage]:
    """One strategy for every engine of a run, each engine holding its own copy. Blocking.

    The targets image is built only if the base image is on *every* engine (each
    builds the same context on the same base, so the same tag); otherwise each
    engine imports the same empty runtime (same tarball, same tag). Mixed, a zone
    outage would compare the lost zone and the survivors on two different runtimes.
    Raises :class:`EngineUnavailable` naming the engine whose call failed.
    """
    base = _base(base_image)
    buildable: dict[str, bool] = {}
    for engine, client in clients.items():
        try:
            buildable[engine] = can_build(client, base)
        except (docker.errors.DockerException, OSError) as error:
            raise EngineUnavailable(engine, error) from error
    build = all(buildable.values())
    chosen: dict[str, RuntimeImage] = {}
    for engine, client in clients.items():
        try:
            image = ensure_image(client, base, build=build)
        except (docker.errors.DockerException, OSError) as error:
            raise EngineUnavailable(engine, error) from error
        chosen[engine] = replace(image, base_elsewhere=buildable[engine] and not build)
    return chosen


def can_build(client: docker.DockerClient, base_image: str | None = None) -> bool:
    """Whether ``targets/Dockerfile`` can be built on the engine without a registry. Blocking."""
    return _dockerfile().is_file() and _present(client, _base(base_image))


def _base(base_image: str | None) -> str:
    return base_image or os.environ.get("CHAOSKIT_DOCKER_BASE_IMAGE") or DEFAULT_BASE_IMAGE


def _dockerfile() -> Path:
    return source_root() / "targets" / "Dockerfile"


def _present(client: docker.DockerClient, ref: str) -> bool:
    try:
        client.images.get(ref)
    except docker.errors.ImageNotFound:
        return False
    return True


def _runtime_tar() -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name in (*_TOP_LEVEL, "tmp", "proc", "sys", "dev"):
            host = Path("/") / name
            info = tarfile.TarInfo(name)
            info.mtime = 0
            if host.is_symlink():
                info.type = tarfile.SYMTYPE
                info.linkname = os.readlink(host)
            elif name in _TOP_LEVEL and not host.exists():
                continue
            else:
                info.type = tarfile.DIRTYPE
                info.mode = 0o1777 if name == "tmp" else 0o755
            tar.addfile(info)
    return buffer.getvalue()


def import_runtime(client: docker.DockerClient) -> str:
    """The empty ``chaoskit/local-runtime`` image on this engine (imported once). Blocking."""
    data = _runtime_tar()
    # The layout differs between hosts (merged /usr or not): the tag says which.
    ref = f"{RUNTIME_REPOSITORY}:{hashlib.sha256(data).hexdigest()[:12]}"
    if not _present(client, ref):
        repository, tag = ref.split(":")
        client.api.import_image_from_data(
            data, repository=repository, tag=tag, changes=[f"LABEL {IMAGE_LABEL}=local-runtime"])
    return ref


def _targets_context(dockerfile: Path) -> bytes:
    """The build context: only what the image needs (never .venv or reports)."""
    root = source_root()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for rel in ("pyproject.toml", "README.md", "chaoskit", "targets"):
            path = root / rel
            if not path.exists():
                continue
            for file in sorted([path] if path.is_file() else path.rglob("*")):
                if not file.is_file() or "__pycache__" in file.parts:
                    continue
                info = tar.gettarinfo(str(file), arcname=str(file.relative_to(root)))
                info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""
                with file.open("rb") as handle:
                    tar.addfile(info, handle)
        info = tarfile.TarInfo("Dockerfile")
        content = dockerfile.read_bytes()
        info.size, info.mtime = len(content), 0
        tar.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def _build_targets(client: docker.DockerClient, base: str, dockerfile: Path) -> str:
    context = _targets_context(dockerfile)
    digest = hashlib.sha256(context + base.encode()).hexdigest()[:12]
    ref = f"{TARGETS_REPOSITORY}:{digest}"
    if not _present(client, ref):
        client.images.build(
            fileobj=io.BytesIO(context), custom_context=True, tag=ref, rm=True,
            pull=False, buildargs={"BASE": base}, labels={IMAGE_LABEL: "targets"})
    return ref


def container_argv(image: RuntimeImage, argv: tuple[str, ...]) -> list[str]:
    """The argv inside the container: unchanged in bind mode; the image's python otherwise."""
    if image.mode == "bind" or not argv:
        return list(argv)
    first = argv[0]
    if first == sys.executable or Path(first).name.startswith("python"):
        return ["python", *argv[1:]]
    return list(argv)


def container_mounts(image: RuntimeImage, *, cwd: str, data_dir: str) -> list[Mount]:
    """Bind mounts for one instance: read-only code and runtime, read-write data."""
    read_only = [cwd]
    if image.mode == "bind":
        read_only += [*_SYSTEM_MOUNTS, sys.base_prefix, sys.prefix, str(source_root())]
    mounts: list[Mount] = []
    for path in _outermost(p for p in read_only if _real_dir(p)):
        mounts.append(Mount(target=path, source=path, type="bind", read_only=True))
    # Last and deepest: the data directory stays writable inside a read-only parent.
    mounts.append(Mount(target=data_dir, source=data_dir, type="bind", read_only=False))
    return mounts


def container_environment(image: RuntimeImage, env: dict[str, str]) -> dict[str, str]:
    """The launch's environment plus what a process needs but cannot inherit here."""
    path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    if image.mode == "bind":
        path = f"{Path(sys.prefix) / 'bin'}:{path}"
    return {"PATH": path, "HOME": "/tmp", "LANG": "C.UTF-8", **env}


def _real_dir(path: str) -> bool:
    # A top-level symlink (``/bin -> usr/bin``) is already in the image.
    return os.path.isdir(path) and not os.path.islink(path)


def _outermost(paths: Any) -> list[str]:
    """Drop paths inside another one: one mount covers them (and order stays simple)."""
    unique = sorted({os.path.normpath(p) for p in paths})
    kept: list[str] = []
    for path in unique:
        if not any(path == k or path.startswith(k.rstrip("/") + "/") for k in kept):
            kept.append(path)
    return kept
