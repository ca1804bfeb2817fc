"""Settings overrides (run_file keywords, a GameDay step's settings) are checked like the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from chaoskit.errors import ConfigError
from chaoskit.loader import load_experiment
from chaoskit.loader.overrides import with_overrides

EXPERIMENT = Path(__file__).parent / "fixtures" / "experiment.yaml"


def test_overrides_replace_only_the_named_settings() -> None:
    experiment = load_experiment(EXPERIMENT)
    shorter = with_overrides(experiment, {"warmup": "2s", "recover_within": 15})
    assert (shorter.settings.warmup, shorter.settings.recover_within) == (2.0, 15.0)
    assert shorter.settings.seed == experiment.settings.seed
    assert with_overrides(experiment, {}) is experiment


@pytest.mark.parametrize(("settings", "field"), [
    ({"warmup": "soon"}, "settings.warmup"),
    ({"colour": "red"}, "settings.colour"),
])
def test_a_bad_override_names_its_field(settings: dict[str, object], field: str) -> None:
    experiment = load_experiment(EXPERIMENT)
    with pytest.raises(ConfigError) as raised:
        with_overrides(experiment, settings)
    assert raised.value.field == field
    assert raised.value.file == experiment.source
