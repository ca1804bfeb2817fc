"""The JSON Schema (draft 2020-12) of the YAML experiment format, for editors and CI.

pydantic's schema describes the model; the YAML users write differs in four
places, patched here: steady-state entries and guardrails are flat
(``{name, probe: load.p99_ms, window, tolerance}``), ``topology`` may be a path,
``depends_on`` items may be a bare service name, and ``health`` may be a path or
``none``. Loader-only fields
(``source``, ``base_dir``) are left out.
"""

from __future__ import annotations

import ast
import copy
import inspect
import itertools
import textwrap
import types
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel

from chaoskit.model.experiment import Experiment

DIALECT = "https://json-schema.org/draft/2020-12/schema"
Schema = dict[str, Any]

_TOP_LEVEL = {
    "title": "what the experiment shows, in one sentence (the report's heading)",
    "description": "longer notes: why this experiment, which defence it exercises",
    "load": "Locust traffic sent to the topology's entry point for the whole run",
    "steady_state": "the hypothesis: named probes whose readings must stay within their "
                    "tolerances before, during and after the faults",
    "method": "the faults, each injected ``after`` seconds into INJECT and reverted after "
              "``duration``",
    "guardrails": "probes watched every second while faults are active; a breach aborts "
                  "the run and reverts at once",
    "settings": "seed, warm-up and recovery bounds of the run",
}


def experiment_json_schema() -> Schema:
    """The schema of a YAML experiment file."""
    schema: Schema = Experiment.model_json_schema(ref_template="#/$defs/{model}")
    defs: dict[str, Schema] = schema["$defs"]
    _describe_fields(schema, defs)
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
    health = defs["Service"]["properties"]["health"]
    health["anyOf"] = [
        {"type": "string", "pattern": "^/", "description": "shorthand for {http: PATH}"},
        {"const": "none", "description": "no check: up once started"},
        *health["anyOf"],
    ]
    health["description"] = ("how the platform tells an instance is up, checked for the "
                             "whole run: {http: /health, port: NAME}, {tcp: NAME}, "
                             "{command: [ARGV...], timeout: 2s} or none")
    _strip(schema, "discriminator")
    return {
        "$schema": DIALECT,
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
        required = [*(["name"] if name_required else []), *probe.get("required", [])]
        variant: Schema = {
            "title": probe.get("title"),
            "description": probe.get("description", ""),
            "type": "object",
            "properties": properties,
            "required": required,
            "additionalProperties": False,
        }
        if probe.get("title") == "LoadProbe":
            # Only load probes compare (both groups' per-second samples): one of the two.
            properties["compare"] = own["compare"]
            variant["anyOf"] = [{"required": ["tolerance"]}, {"required": ["compare"]}]
        else:
            required.append("tolerance")
        variants.append(variant)
    return {
        "title": entry.get("title"),
        "description": entry.get("description", "") + "\n\nWritten flat: the probe's own "
                       "fields (window, url, selector ...) sit beside name and tolerance.",
        "oneOf": variants,
    }


def _describe_fields(schema: Schema, defs: dict[str, Schema]) -> None:
    # The models document fields with attribute docstrings, which pydantic
    # leaves out of the schema unless every model opts in; read them here.
    for key, text in _TOP_LEVEL.items():
        schema["properties"][key].setdefault("description", text)
    for model in _models(Experiment):
        definition = defs.get(model.__name__)
        if definition is None:
            continue
        for name, text in _attribute_docstrings(model).items():
            prop = definition.get("properties", {}).get(name)
            if prop is None:
                continue
            # A type's own description (a Duration's format) follows the field's meaning.
            kind = prop.get("description")
            prop["description"] = f"{text} ({kind})" if kind and kind != text else text


def _models(root: type[BaseModel]) -> list[type[BaseModel]]:
    found: list[type[BaseModel]] = []

    def visit(annotation: Any) -> None:
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            if annotation not in found:
                found.append(annotation)
                for info in annotation.model_fields.values():
                    visit(info.annotation)
            return
        if get_origin(annotation) in (Union, types.UnionType) or get_args(annotation):
            for arg in get_args(annotation):
                visit(arg)

    visit(root)
    return found


def _attribute_docstrings(model: type[BaseModel]) -> dict[str, str]:
    docs: dict[str, str] = {}
    for cls in reversed(model.__mro__):
        if not (isinstance(cls, type) and issubclass(cls, BaseModel)) or cls is BaseModel:
            continue
        try:
            tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
        except (OSError, TypeError, SyntaxError):
            continue
        body = tree.body[0].body if tree.body and isinstance(tree.body[0], ast.ClassDef) else []
        for node, following in itertools.pairwise(body):
            if (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)
                    and isinstance(following, ast.Expr)
                    and isinstance(following.value, ast.Constant)
                    and isinstance(following.value.value, str)):
                docs[node.target.id] = inspect.cleandoc(following.value.value)
    return docs


def _strip(schema: Any, keyword: str) -> None:
    # OpenAPI's "discriminator" is not a 2020-12 keyword; strict validators
    # (ajv in strict mode) reject unknown keywords, and oneOf already decides.
    if isinstance(schema, dict):
        schema.pop(keyword, None)
        for value in schema.values():
            _strip(value, keyword)
    elif isinstance(schema, list):
        for value in schema:
            _strip(value, keyword)
