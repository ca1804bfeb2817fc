"""The version chaoskit reports is the one it is packaged as."""

from __future__ import annotations

import tomllib
from pathlib import Path

import chaoskit
from chaoskit.platform.docker_image import source_root
from chaoskit.version import __version__

ROOT = Path(__file__).resolve().parents[2]


def test_the_version_module_agrees_with_pyproject() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert __version__ == project["version"]
    assert chaoskit.__version__ == __version__


def test_the_source_root_is_the_directory_holding_the_package() -> None:
    assert source_root() == Path(chaoskit.__file__).resolve().parent.parent
