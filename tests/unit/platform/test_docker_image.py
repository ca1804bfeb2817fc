"""Which image strategy the docker platform picks, and what the Dockerfile build is given."""

from __future__ import annotations

import io
import tarfile
from typing import Any

import docker.errors
import pytest

from chaoskit.platform import docker_image
from chaoskit.platform.docker_image import RUNTIME_REPOSITORY, TARGETS_REPOSITORY, ensure_image


class FakeImages:
    def __init__(self, present: set[str]) -> None:
        self.present = present
        self.builds: list[dict[str, Any]] = []

    def get(self, ref: str) -> object:
        if ref not in self.present:
            raise docker.errors.ImageNotFound(ref)
        return object()

    def build(self, **kwargs: Any) -> None:
        self.builds.append(kwargs)
        self.present.add(kwargs["tag"])


class FakeApi:
    def __init__(self, images: FakeImages) -> None:
        self.images = images
        self.imports: list[tuple[str, str]] = []

    def import_image_from_data(self, data: bytes, repository: str, tag: str,
                               changes: list[str]) -> None:
        self.imports.append((repository, tag))
        self.images.present.add(f"{repository}:{tag}")


class FakeClient:
    def __init__(self, present: set[str]) -> None:
        self.images = FakeImages(present)
        self.api = FakeApi(self.images)


def test_without_the_base_image_the_empty_runtime_is_imported_once(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CHAOSKIT_DOCKER_BASE_IMAGE", raising=False)
    client = FakeClient(set())
    first = ensure_image(client)  # type: ignore[arg-type]
    second = ensure_image(client)  # type: ignore[arg-type]
    assert first.mode == "bind" and first.ref.startswith(RUNTIME_REPOSITORY + ":")
    assert second == first
    assert len(client.api.imports) == 1
    assert "python:3.11-slim is not present" in first.describe()


def test_with_the_base_image_the_targets_dockerfile_is_built_on_it_once(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHAOSKIT_DOCKER_BASE_IMAGE", "mirror.local/python:3.11")
    client = FakeClient({"mirror.local/python:3.11"})
    image = ensure_image(client)  # type: ignore[arg-type]
    assert image.mode == "image" and image.ref.startswith(TARGETS_REPOSITORY + ":")
    assert image.base == "mirror.local/python:3.11"
    ensure_image(client)  # type: ignore[arg-type]
    [build] = client.images.builds
    assert build["buildargs"] == {"BASE": "mirror.local/python:3.11"}
    assert build["pull"] is False  # never a registry
    with tarfile.open(fileobj=build["fileobj"]) as tar:
        names = tar.getnames()
    assert "Dockerfile" in names and "pyproject.toml" in names
    assert "chaoskit/platform/docker.py" in names
    assert not any(n.startswith((".venv", "reports", ".git")) for n in names)
    assert not any("__pycache__" in n for n in names)


def test_the_build_context_is_reproducible() -> None:
    dockerfile = docker_image.source_root() / "targets" / "Dockerfile"
    one = docker_image._targets_context(dockerfile)
    assert one == docker_image._targets_context(dockerfile)
    with tarfile.open(fileobj=io.BytesIO(one)) as tar:
        assert all(m.mtime == 0 for m in tar.getmembers())
