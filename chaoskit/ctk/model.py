"""Chaos Toolkit's experiment format as typed models (chaostoolkit-lib 1.44 semantics).

The format is plain JSON-native data; CTK itself validates it by hand and
silently ignores misspelt keys. Here every activity, provider and tolerance is
a frozen model that refuses unknown fields (``tolerence`` is an error at its
line, not a probe with no tolerance), while the keys CTK accepts but chaoskit
does not act on (``controls``, vendor ``extensions``, an activity's ``dry``)
are kept and reported once as ignored by the loader.

Argument and output values stay JSON values (``JsonValue``): they are the
user's data handed to providers and tolerances, which CTK defines over
dynamic values.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    Discriminator,
    Field,
    JsonValue,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    Tag,
    field_validator,
    model_validator,
)

from chaoskit.model.base import FieldError, Model

Number = StrictInt | StrictFloat
Seconds = Annotated[Number, Field(ge=0)] | StrictStr
"""A number of seconds, or a ``${name}`` substituted at run time (CTK allows both)."""


def _substitutable(value: str) -> str:
    if "${" not in value:
        raise ValueError(f"expected a number of seconds or a ${{name}} to substitute, "
                         f"got {value!r}")
    return value


class HttpProvider(Model):
    """An HTTP call; output ``{status, headers, body}`` (body parsed when JSON)."""

    type: Literal["http"]
    url: str = Field(min_length=1)
    method: str = "GET"
    headers: dict[str, JsonValue] | None = None
    arguments: JsonValue = None
    """Query parameters for GET; a JSON body with ``Content-Type: application/json``, else a
    form."""
    timeout: Number | tuple[Number, Number] | StrictStr | None = None
    """Seconds, or ``[connect, read]``."""
    verify_tls: bool = True
    max_retries: int = Field(default=0, ge=0)
    expected_status: int | None = None
    """Written in some CTK examples, never read by chaostoolkit-lib: a tolerance judges the
    status. Accepted so such files load, and reported as ignored."""
    secrets: list[str] = Field(default_factory=list)


class ProcessProvider(Model):
    """A program run to completion; output ``{status, stdout, stderr}``."""

    type: Literal["process"]
    path: str = Field(min_length=1)
    arguments: StrictStr | list[JsonValue] | dict[str, JsonValue] | None = None
    """A list (no shell), a string (run with a shell, as CTK does), or a deprecated mapping
    flattened to ``key value`` pairs."""
    timeout: Number | None = None
    secrets: list[str] = Field(default_factory=list)


class PythonProvider(Model):
    """A function of an importable module, called with ``arguments`` as keywords; its return
    value is the output. ``configuration`` and ``secrets`` are passed when it declares them."""

    type: Literal["python"]
    module: str = Field(min_length=1)
    func: str = Field(min_length=1)
    arguments: dict[str, JsonValue] = Field(default_factory=dict)
    secrets: list[str] = Field(default_factory=list)
    """Secret scopes handed to the function's ``secrets`` parameter."""
    timeout: Number | None = None
    """Written in CTK samples; chaostoolkit-lib never enforces it on a Python call (reported
    as ignored)."""


Provider = Annotated[HttpProvider | ProcessProvider | PythonProvider,
                     Field(discriminator="type")]


class Pauses(Model):
    before: Seconds | None = None
    after: Seconds | None = None

    @field_validator("before", "after")
    @classmethod
    def _template(cls, value: object) -> object:
        return _substitutable(value) if isinstance(value, str) else value


class Control(Model):
    """A CTK control: hooks of a Python module around each level. Parsed so a malformed one
    is reported, never run (chaoskit's own guarantees replace what they are used for)."""

    name: str
    provider: dict[str, JsonValue]
    scope: Literal["before", "after"] | None = None
    automatic: bool = True
    ref: str | None = None


class RangeTolerance(Model):
    type: Literal["range"]
    range: tuple[Number, Number]
    target: str | None = None


class RegexTolerance(Model):
    type: Literal["regex"]
    pattern: str
    target: str | None = None

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as error:
            raise ValueError(f"pattern {value} seems invalid: {error.msg}") from None
        return value


class JsonPathTolerance(Model):
    """Matches of ``path`` (jsonpath2's dialect, as CTK): at least one, exactly ``count``, or
    exactly ``expect`` (a value, or the list of matched values)."""

    type: Literal["jsonpath"]
    path: str
    expect: JsonValue = None
    count: int | None = None
    target: str | None = None

    @field_validator("path")
    @classmethod
    def _parses(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("a JSON path cannot be empty")
        try:
            parse_jsonpath(value.strip())
        except ValueError:
            raise ValueError(f"JSON path {value} is invalid") from None
        return value

    @property
    def has_expect(self) -> bool:
        """``expect: null`` expects a null; no ``expect`` at all expects nothing."""
        return "expect" in self.model_fields_set


class ProbeTolerance(Model):
    """A probe called with the reading injected as its ``value`` argument; met when it returns
    something truthy, not met when it fails."""

    type: Literal["probe"]
    name: str = ""
    provider: Provider


def _tolerance_kind(value: Any) -> str | None:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, str):
        return "str"
    if isinstance(value, list | tuple):
        return "list"
    if isinstance(value, dict):
        kind = value.get("type")
        return kind if isinstance(kind, str) else None
    kind = getattr(value, "type", None)
    return kind if isinstance(kind, str) else None


Tolerance = Annotated[
    Annotated[StrictBool, Tag("bool")]
    | Annotated[StrictInt, Tag("int")]
    | Annotated[StrictStr, Tag("str")]
    | Annotated[list[JsonValue], Tag("list")]
    | Annotated[RangeTolerance, Tag("range")]
    | Annotated[RegexTolerance, Tag("regex")]
    | Annotated[JsonPathTolerance, Tag("jsonpath")]
    | Annotated[ProbeTolerance, Tag("probe")],
    Discriminator(
        _tolerance_kind, custom_error_type="tolerance",
        custom_error_message="expected a tolerance: true/false, an integer, a string, a list, "
                             "or a mapping with type range, regex, jsonpath or probe"),
]
"""What a hypothesis probe's output must be. CTK refuses a float tolerance; so does this."""


class Activity(Model):
    """A probe (reads) or an action (changes the system)."""

    type: Literal["probe", "action"]
    name: str = Field(min_length=1)
    provider: Provider
    pauses: Pauses | None = None
    background: bool = False
    tolerance: Tolerance | None = None
    """Judged for hypothesis probes only; in the method a probe collects data (as in CTK)."""
    controls: list[Control] = Field(default_factory=list)
    timeout: Number | None = None
    """Validated by CTK and never used; kept so such files load (reported as ignored)."""
    dry: str | None = None
    configuration: dict[str, JsonValue] | None = None
    """In CTK's spec, never read by chaostoolkit-lib; reported as ignored."""
    secrets: JsonValue = None


class Ref(Model):
    """``{ref: name}``: a probe or action of the method or hypothesis, run again by name."""

    ref: str = Field(min_length=1)


def _item_kind(value: Any) -> str:
    if isinstance(value, dict):
        return "ref" if "ref" in value else "activity"
    return "ref" if isinstance(value, Ref) else "activity"


MethodItem = Annotated[
    Annotated[Activity, Tag("activity")] | Annotated[Ref, Tag("ref")],
    Discriminator(_item_kind),
]


class Hypothesis(Model):
    title: str = Field(min_length=1)
    probes: list[Activity] = Field(default_factory=list)

    @model_validator(mode="after")
    def _tolerances(self) -> Hypothesis:
        for index, probe in enumerate(self.probes):
            if probe.tolerance is None:
                raise FieldError(("probes", index, "tolerance"),
                                 "a hypothesis probe needs a tolerance")
        return self


class EnvValue(Model):
    """``{type: env, key: NAME}``: read from the environment when the run starts."""

    type: Literal["env"]
    key: str = Field(min_length=1)
    default: JsonValue = None
    env_var_type: Literal["str", "string", "int", "integer", "float", "number", "bytes",
                          "bool", "json"] | None = None

    @property
    def has_default(self) -> bool:
        return "default" in self.model_fields_set


def _config_kind(value: Any) -> str:
    if isinstance(value, dict) and "type" in value:
        return "env" if value.get("type") == "env" else "unsupported"
    if isinstance(value, EnvValue):
        return "env"
    return "literal"


class UnsupportedValue(Model):
    """A ``{type: probe}`` (dynamic configuration) or ``{type: vault}`` value: not supported
    by chaoskit, refused at its line rather than run half-configured."""

    type: str

    model_config = Model.model_config | {"extra": "allow"}

    @model_validator(mode="after")
    def _refuse(self) -> UnsupportedValue:
        raise ValueError(f"{{type: {self.type}}} values are not supported by chaoskit; use a "
                         "literal or {type: env, key: NAME}")


ConfigValue = Annotated[
    Annotated[EnvValue, Tag("env")]
    | Annotated[UnsupportedValue, Tag("unsupported")]
    | Annotated[JsonValue, Tag("literal")],
    Discriminator(_config_kind),
]


Strategy = Literal["default", "before-method-only", "after-method-only", "during-method-only",
                   "continuously", "continously", "skip"]
RollbackStrategy = Literal["default", "always", "never", "deviated"]


class HypothesisRuntime(Model):
    strategy: Strategy = "default"
    frequency: Annotated[Number, Field(gt=0)] | None = None
    """chaoskit reads this (CTK only has the ``--hypothesis-frequency`` flag)."""
    fail_fast: bool | None = None
    """chaoskit reads this (CTK only has the ``--fail-fast`` flag)."""


class RollbacksRuntime(Model):
    strategy: RollbackStrategy = "default"


class Runtime(Model):
    hypothesis: HypothesisRuntime = HypothesisRuntime()
    rollbacks: RollbacksRuntime = RollbacksRuntime()


class Extension(Model):
    """Vendor data. ``name: chaoskit`` is read (``allow_hosts``); any other is reported as
    ignored."""

    name: str = Field(min_length=1)
    allow_hosts: list[str] = Field(default_factory=list)

    model_config = Model.model_config | {"extra": "allow"}

    @model_validator(mode="after")
    def _own_keys(self) -> Extension:
        if self.name != "chaoskit" and self.allow_hosts:
            raise FieldError(("allow_hosts",), "allow_hosts is read from the extension named "
                             "chaoskit only")
        if self.name == "chaoskit" and self.model_extra:
            raise FieldError((next(iter(self.model_extra)),),
                             "the chaoskit extension takes allow_hosts only")
        return self


class CtkExperiment(Model):
    """A Chaos Toolkit experiment as declared."""

    title: str = Field(min_length=1)
    description: str = Field(min_length=1)
    method: list[MethodItem]
    steady_state_hypothesis: Hypothesis | None = Field(default=None,
                                                       alias="steady-state-hypothesis")
    rollbacks: list[MethodItem] = Field(default_factory=list)
    tags: list[Annotated[str, Field(min_length=1)]] = Field(default_factory=list)
    configuration: dict[str, ConfigValue] = Field(default_factory=dict)
    secrets: dict[str, dict[str, ConfigValue]] = Field(default_factory=dict)
    controls: list[Control] = Field(default_factory=list)
    extensions: list[Extension] = Field(default_factory=list)
    contributions: dict[str, str] = Field(default_factory=dict)
    runtime: Runtime = Runtime()
    version: JsonValue = None
    source: str | None = Field(default=None, exclude=True)
    """The file it was loaded from (for messages); not part of the format."""
    ignored: tuple[str, ...] = Field(default=(), exclude=True)
    """What the file declares that chaoskit does not act on, one line each (set by the
    loader, reported once when the run starts)."""
    warnings: tuple[str, ...] = Field(default=(), exclude=True)
    """What is valid but most likely not meant (a tolerance ``"true"`` written as text)."""

    @model_validator(mode="after")
    def _refs(self) -> CtkExperiment:
        known = self.activities_by_name()
        for part in ("method", "rollbacks"):
            for index, item in enumerate(getattr(self, part)):
                if isinstance(item, Ref) and item.ref not in known:
                    names = ", ".join(sorted(known)) or "none"
                    raise FieldError((part, index, "ref"), f"no probe or action named "
                                     f"{item.ref!r} in the method or hypothesis; expected one "
                                     f"of {names}")
        return self

    def activities_by_name(self) -> dict[str, Activity]:
        """What a ``ref`` can name: method activities and hypothesis probes (CTK's cache);
        the first of a name wins."""
        found: dict[str, Activity] = {}
        probes = self.steady_state_hypothesis.probes if self.steady_state_hypothesis else []
        for item in [*probes, *self.method]:
            if isinstance(item, Activity):
                found.setdefault(item.name, item)
        return found

    def resolve(self, item: Activity | Ref) -> Activity:
        return item if isinstance(item, Activity) else self.activities_by_name()[item.ref]

    @property
    def hypothesis_probes(self) -> list[Activity]:
        return self.steady_state_hypothesis.probes if self.steady_state_hypothesis else []

    @property
    def allow_hosts(self) -> tuple[str, ...]:
        return tuple(h for e in self.extensions if e.name == "chaoskit" for h in e.allow_hosts)

    @property
    def slug(self) -> str:
        base = self.source.rsplit("/", 1)[-1].rsplit(".", 1)[0] if self.source else self.title
        return re.sub(r"[^a-z0-9]+", "-", base.lower()).strip("-")[:60] or "experiment"


def parse_jsonpath(path: str) -> Any:
    """jsonpath2's parsed path; ValueError when malformed. ANTLR's parser prints its
    complaints to stderr as well; they are kept out of chaoskit's output."""
    import contextlib
    import io

    from jsonpath2.path import Path as JsonPath

    with contextlib.redirect_stderr(io.StringIO()):
        return JsonPath.parse_str(path)
