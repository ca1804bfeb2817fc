"""Property tests: whatever bytes an experiment or GameDay file holds, the loaders answer
with a ConfigError naming the file and the line, never with anything else.

Fuzzing with 7,000 mutated experiment files found one class that escaped: a control
character (NUL, BEL, ...) made PyYAML's reader raise ``ReaderError`` as a traceback with
exit 1. These tests feed arbitrary bytes and mutated copies of the shipped experiments.

Which errors may lack a line: only those about the file as a whole, decided before its
text is read (wrong suffix, missing, unreadable, too big). Every problem in the content,
undecodable bytes included, has a line. A fuzzed file is never too big, so every error
here must carry one.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chaoskit.errors import ConfigError
from chaoskit.gameday.loader import load_gameday
from chaoskit.loader import load_experiment
from chaoskit.loader.diagnostics import ConfigErrors

REPOSITORY = Path(__file__).parents[2]
EXPERIMENTS = REPOSITORY / "experiments"


def _shipped() -> tuple[list[bytes], list[bytes]]:
    """The shipped YAML files' bytes: (experiments, GameDays); a GameDay has ``steps``."""
    experiments: list[bytes] = []
    gamedays: list[bytes] = []
    for path in sorted(EXPERIMENTS.glob("*.yaml")):
        data = path.read_bytes()
        parsed = yaml.safe_load(data)
        (gamedays if isinstance(parsed, dict) and "steps" in parsed else experiments).append(data)
    return experiments, gamedays


SHIPPED_EXPERIMENTS, SHIPPED_GAMEDAYS = _shipped()

EXAMPLES = int(os.environ.get("CHAOSKIT_FUZZ_EXAMPLES", "150"))
"""Per property; a few seconds in all. A longer campaign: CHAOSKIT_FUZZ_EXAMPLES=5000."""

FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

CONTROL = [bytes([c]) for c in (*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F)]
"""Every C0 control YAML refuses (tab, LF and CR are allowed), and DEL."""
UNPRINTABLE_UTF8 = [chr(c).encode() for c in (0x80, 0x9F, 0xFFFE, 0xFFFF)]
"""Valid UTF-8 that YAML still refuses: C1 controls and the non-characters."""

IMPOSSIBLE = [b"0x_", b"0b_", b"2001-13-45", b"0000-01-01", b"2001-02-30 25:00:00"]
"""Plain scalars that YAML 1.1 resolves to a number or a date that does not exist."""

_inserted = st.one_of(
    st.sampled_from(CONTROL + UNPRINTABLE_UTF8),
    st.binary(min_size=1, max_size=8),
    st.sampled_from([b":", b"-", b" ", b"\n", b"{", b"}", b"[", b"]", b"&a", b"*a", b"!!python",
                     b"\t", b'"', b"'", b"#", b"\xef\xbb\xbf"]),
    st.sampled_from(IMPOSSIBLE),
)

_value = st.one_of(st.sampled_from(IMPOSSIBLE), _inserted,
                   st.text(max_size=12).map(lambda text: text.encode("utf-8", "surrogatepass")))
"""What replaces a value: mostly things a value should not be."""


@st.composite
def mutated(draw: st.DrawFn, sources: list[bytes]) -> bytes:
    """A shipped file after one to four mutations of the kinds a careless edit makes."""
    data = bytearray(draw(st.sampled_from(sources)))
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "delete", "insert", "duplicate", "truncate",
                                     "value"]))
        at = draw(st.integers(0, max(0, len(data) - 1)))
        if kind == "flip" and data:
            data[at] ^= draw(st.integers(1, 255))
        elif kind == "delete":
            del data[at:at + draw(st.integers(1, 16))]
        elif kind == "insert":
            data[at:at] = draw(_inserted)
        elif kind == "duplicate":
            lines = data.splitlines(keepends=True)
            if lines:
                which = draw(st.integers(0, len(lines) - 1))
                lines.insert(which, lines[which])
                data = bytearray(b"".join(lines))
        elif kind == "truncate":
            del data[at:]
        elif kind == "value":
            # The text after a "key: " replaced, so the parser gets as far as the value.
            colons = [i + 2 for i in range(len(data) - 1) if data[i:i + 2] == b": "]
            if colons:
                start = draw(st.sampled_from(colons))
                end = start
                while end < len(data) and data[end:end + 1] not in b",}\n":
                    end += 1
                data[start:end] = draw(_value)
    return bytes(data)


arbitrary = st.one_of(
    st.binary(max_size=512),
    st.text(max_size=256).map(lambda text: text.encode("utf-8", "surrogatepass")),
)
"""Raw bytes (mostly not UTF-8) and any text (controls and non-characters included)."""


@pytest.fixture(scope="module")
def fuzz_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A folder to write fuzzed files into, run from the repository root.

    The experiments' relative paths (``targets/netflix.yaml``) resolve against the working
    directory; a GameDay's (``netflix_az.yaml``) against its own folder, so the shipped
    experiments are linked beside it.
    """
    folder = tmp_path_factory.mktemp("fuzz")
    for path in EXPERIMENTS.iterdir():
        (folder / path.name).symlink_to(path)
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(REPOSITORY)
        yield folder


LINE_BREAKS = [b"\n", b"\r", *(chr(c).encode() for c in (0x85, 0x2028, 0x2029))]


def assert_located(error: ConfigError, file: Path, data: bytes) -> None:
    """Every problem in ``error`` names a file and a line inside that file."""
    problems = error.errors if isinstance(error, ConfigErrors) else (error,)
    for problem in problems:
        assert problem.file is not None, problem
        assert problem.line is not None, problem
        assert problem.line >= 1, problem
        if problem.file == str(file):
            # YAML also breaks lines at CR, NEL, U+2028 and U+2029, and a parser may
            # report the line after the last (at the end of input).
            assert problem.line <= sum(map(data.count, LINE_BREAKS)) + 2, problem
        else:
            # Only an experiment a GameDay names can have its own errors; never a file
            # that does not exist.
            assert Path(problem.file).is_file(), problem
    assert "Traceback" not in str(error)


def load_bytes(folder: Path, name: str, data: bytes, loader: str) -> None:
    path = folder / name
    path.write_bytes(data)
    try:
        if loader == "gameday":
            load_gameday(path)
        else:
            load_experiment(path)
    except ConfigError as error:
        assert_located(error, path, data)
    # Any other exception fails the test: that is the property.


@FUZZ
@given(data=arbitrary)
def test_arbitrary_bytes_give_only_located_config_errors(fuzz_dir: Path, data: bytes) -> None:
    load_bytes(fuzz_dir, "fuzzed_experiment.yaml", data, "experiment")


@FUZZ
@given(data=arbitrary)
def test_arbitrary_bytes_as_a_gameday_give_only_located_config_errors(
    fuzz_dir: Path, data: bytes
) -> None:
    load_bytes(fuzz_dir, "fuzzed_gameday.yaml", data, "gameday")


@FUZZ
@given(data=mutated(SHIPPED_EXPERIMENTS))
def test_mutated_experiments_give_only_located_config_errors(fuzz_dir: Path, data: bytes) -> None:
    load_bytes(fuzz_dir, "fuzzed_experiment.yaml", data, "experiment")


@pytest.mark.skipif(not SHIPPED_GAMEDAYS, reason="no GameDay file in experiments/")
@settings(FUZZ, max_examples=max(1, EXAMPLES * 2 // 5))
@given(data=mutated(SHIPPED_GAMEDAYS or [b""]))
def test_mutated_gamedays_give_only_located_config_errors(fuzz_dir: Path, data: bytes) -> None:
    load_bytes(fuzz_dir, "fuzzed_gameday.yaml", data, "gameday")


# --- the class fuzzing found, pinned ----------------------------------------------------


@pytest.mark.parametrize(("byte", "name"), [(b"\x07", "U+0007"), (b"\x00", "U+0000"),
                                            (b"\x7f", "U+007F")])
def test_a_control_character_is_located_by_line_and_column(
    tmp_path: Path, byte: bytes, name: str
) -> None:
    path = tmp_path / "exp.yaml"
    path.write_bytes(b"title: t\nsteady_state:\n  - {a" + byte + b"b: 1}\n")
    with pytest.raises(ConfigError) as info:
        load_experiment(path)
    error = info.value
    assert (error.file, error.line) == (str(path), 3)
    assert error.message == (f"control character {name} at column 7; "
                             "YAML allows only printable characters")


def test_an_unprintable_non_control_character_is_named_too(tmp_path: Path) -> None:
    path = tmp_path / "exp.yaml"
    path.write_bytes("title: ok\ntitle2: a\ufffeb\n".encode())
    with pytest.raises(ConfigError) as info:
        load_experiment(path)
    assert info.value.line == 2
    assert info.value.message == ("character U+FFFE at column 10 is not printable; "
                                  "YAML allows only printable characters")


def test_a_gameday_with_a_control_character_is_located(tmp_path: Path) -> None:
    path = tmp_path / "day.yaml"
    path.write_bytes(b"title: t\non_failure: stop\nsteps:\n  - pause: 5s\x00\n")
    with pytest.raises(ConfigError) as info:
        load_gameday(path)
    assert (info.value.line, info.value.message.split(";")[0]) == (
        4, "control character U+0000 at column 14")


def test_bytes_that_are_not_utf8_are_located_by_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "exp.yaml"
    path.write_bytes("title: café\n".encode() + b"description: caf\xe9 au lait\n")
    with pytest.raises(ConfigError) as info:
        load_experiment(path)
    assert info.value.line == 2
    assert info.value.message == ("not UTF-8 text: byte 0xe9 at column 17 "
                                  "(invalid continuation byte)")


def test_validate_on_a_file_with_a_bel_byte_exits_2_without_a_traceback(tmp_path: Path) -> None:
    path = tmp_path / "bel.yaml"
    path.write_bytes(b"title: t\nsteady_state:\n  - a\x07b\n")
    env = {**os.environ, "PYTHONPATH": str(REPOSITORY)}
    done = subprocess.run([sys.executable, "-m", "chaoskit", "validate", str(path)],
                          capture_output=True, text=True, timeout=60, env=env, cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert f"{path}:3: control character U+0007 at column 6" in done.stderr


@pytest.mark.parametrize(("scalar", "kind"), [("0x_", "a number"), ("0b_", "a number"),
                                              ("2001-13-45", "a date"), ("0000-01-01", "a date")])
def test_a_plain_scalar_that_reads_as_an_impossible_number_or_date(
    tmp_path: Path, scalar: str, kind: str
) -> None:
    path = tmp_path / "exp.yaml"
    path.write_text(f"title: t\ndescription: {scalar}\n")
    with pytest.raises(ConfigError) as info:
        load_experiment(path)
    assert info.value.line == 2
    assert info.value.message.startswith(f"{scalar!r} reads as {kind} but is not a valid one (")
    assert info.value.message.endswith("); quote it to keep it as text")
