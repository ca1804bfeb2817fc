"""The JSON Schema (draft 2020-12) of the YAML experiment format, for editors and CI.

pydantic's schema describes the model; the YAML users write differs in three
places, patched here: steady-state entries and guardrails are flat
(``{name, probe: load.p99_ms, window, tolerance}``), ``topology`` may be a path,
and ``depends_on`` items may be a bare service name. Loader-only fields
(``source``, ``base_dir``) are left out.
"""

from __future__ import annotations

import copy
from typing import Any

from chaoskit.model.experiment import Experiment

DIALECT = "https://json-schema.org/draft/2020-12/schema"
Schema = dict[str, Any]


def experiment_json_schema() -> Schema:
    """The schema of a YAML experiment file."""
    schema: Schema = Experiment.model_json_schema(ref_template="#/$defs/{model}")
    defs: dict[str, Schema] = schema["$defs"]
    for name, info in Experiment.model_fields.items():
        if info.exclude:
            schema["properties"].pop(name, None)
    schema["properties"]["topology"] = {
        "description": "the system under test: a path to a YAML topology file (resolved "
                       "against the working directory, then the experiment's directory and "
                       "its parents) or the topology itself",
        "anyOf": [{"type": "string", "minLength": 1}, {"$ref": "#/$defs/Topology"}],
    }
    for entry, name_required in (("SteadyStateProbe", True), ("Guardrail", False)):
        defs[entry] = _flat(defs, defs[entry], name_required=name_required)
    depends_on = defs["Service"]["properties"]["depends_on"]
    depends_on["items"] = {
        "anyOf": [{"type": "string", "description": "shorthand for {service: NAME}"},
                  depends_on["items"]],
    }
    return {
        "$schema": DIALECT,
        "$id": "https://chaoskit.dev/schema/experiment.json",
        "title": "chaoskit experiment",
        "description": "A chaos experiment: a steady-state hypothesis (probes with "
                       "tolerances), the load sent while it runs, the faults of the method "
                       "and the guardrails that abort it. Durations are written 500ms, 10s, "
                       "2m or 1h.",
        **{k: v for k, v in schema.items() if k not in ("title", "description")},
    }


def _flat(defs: dict[str, Schema], entry: Schema, *, name_required: bool) -> Schema:
    """One alternative per probe kind, its fields beside ``name`` and ``tolerance``."""
    own = entry["properties"]
    variants = []
    for ref in own["probe"]["oneOf"]:
        probe = defs[ref["$ref"].rsplit("/", 1)[-1]]
        properties = {"name": own["name"], **copy.deepcopy(probe["properties"]),
                      "tolerance": own["tolerance"]}
        required = [*(["name"] if name_required else []), *probe.get("required", []),
                    "tolerance"]
        variants.append({
            "title": probe.get("title"),
            "description": probe.get("description", ""),
            "type": "object",
            "properties": properties,
            "required": required,
            "additionalProperties": False,
        })
    return {
        "title": entry.get("title"),
        "description": entry.get("description", "") + "\n\nWritten flat: the probe's own "
                       "fields (window, url, selector ...) sit beside name and tolerance.",
        "oneOf": variants,
    }
