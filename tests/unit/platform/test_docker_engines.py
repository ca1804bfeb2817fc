"""Zones on several engines run one image strategy: each engine gets its own copy."""

from __future__ import annotations

from typing import Any

import docker.errors
import pytest

from chaoskit.platform.docker_image import (
    RUNTIME_REPOSITORY,
    TARGETS_REPOSITORY,
    EngineUnavailable,
    ensure_images,
)

BASE = "mirror.local/python:3.11"


class Engine:
    """The slice of a docker client ensure_images uses: images, builds, imports."""

    def __init__(self, *present: str, broken: bool = False) -> None:
        self.present = set(present)
        self.broken = broken
        self.builds: list[str] = []
        self.imports: list[str] = []
        self.images = self
        self.api = self

    def get(self, ref: str) -> object:
        if self.broken:
            raise docker.errors.DockerException("Error while fetching server API version")
        if ref not in self.present:
            raise docker.errors.ImageNotFound(ref)
        return object()

    def build(self, **kwargs: Any) -> None:
        self.builds.append(kwargs["tag"])
        self.present.add(kwargs["tag"])

    def import_image_from_data(self, data: bytes, repository: str, tag: str,
                               changes: list[str]) -> None:
        self.imports.append(f"{repository}:{tag}")
        self.present.add(f"{repository}:{tag}")


def test_the_base_on_one_engine_only_means_the_bind_runtime_on_both() -> None:
    first, second = Engine(BASE), Engine()
    images = ensure_images({"": first, "unix:///e2.sock": second}, BASE)  # type: ignore[dict-item]

    assert {i.mode for i in images.values()} == {"bind"}
    assert first.builds == [] and second.builds == []
    # The same (content-addressed) runtime, imported on each engine.
    assert first.imports == second.imports == [images[""].ref]
    assert images[""].ref.startswith(RUNTIME_REPOSITORY + ":")
    assert "not present on every engine of the run" in images[""].describe()
    assert "not present on the engine" in images["unix:///e2.sock"].describe()


def test_the_base_on_every_engine_builds_the_same_targets_image_on_each() -> None:
    first, second = Engine(BASE), Engine(BASE)
    images = ensure_images({"": first, "e2": second}, BASE)  # type: ignore[dict-item]

    assert {i.mode for i in images.values()} == {"image"}
    assert images[""].ref == images["e2"].ref
    assert images[""].ref.startswith(TARGETS_REPOSITORY + ":")
    assert first.builds == second.builds == [images[""].ref]
    assert first.imports == second.imports == []


def test_an_engine_that_fails_is_named() -> None:
    with pytest.raises(EngineUnavailable, match=r"^unix:///gone\.sock: Error while") as caught:
        ensure_images({"": Engine(), "unix:///gone.sock": Engine(broken=True)})  # type: ignore[dict-item]
    assert caught.value.engine == "unix:///gone.sock"
