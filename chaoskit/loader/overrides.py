"""Settings overrides from a test or a GameDay step, validated as the experiment file's are.

Here rather than in ``chaoskit.testing`` so that the GameDay loader, which sits
beside the testing layer and may not import it, checks a step's ``settings``
with the same code a test's ``run_file(..., warmup="2s")`` uses.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from chaoskit.errors import ConfigError
from chaoskit.model.experiment import Experiment, Settings


def with_overrides(experiment: Experiment, settings: Mapping[str, Any]) -> Experiment:
    """The experiment with some settings replaced (``warmup="2s"``), validated like the file."""
    if not settings:
        return experiment
    current = experiment.settings.model_dump(mode="json")
    try:
        merged = Settings.model_validate({**current, **settings})
    except ValidationError as error:
        first = error.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"{first['msg']}", file=experiment.source,
                          field=f"settings.{field}") from None
    return experiment.model_copy(update={"settings": merged})
