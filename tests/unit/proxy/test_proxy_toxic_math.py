"""Pure pieces of the toxics: slicing, pacing, delay draws, attribute decoding, validation."""

from __future__ import annotations

import itertools
import random

import pytest

from chaoskit.proxy.server.toxics import TOXIC_TYPES, decode_attributes
from chaoskit.proxy.server.toxics.bandwidth import Bandwidth
from chaoskit.proxy.server.toxics.latency import Latency
from chaoskit.proxy.server.toxics.limit_data import LimitData
from chaoskit.proxy.server.toxics.slicer import Slicer


@pytest.mark.parametrize(("average", "variation", "size"),
                         [(1, 0, 7), (10, 0, 95), (10, 5, 1000), (64, 16, 32768), (100, 0, 50)])
def test_slicer_pieces_cover_the_chunk_within_bounds(average: int, variation: int,
                                                     size: int) -> None:
    random.seed(size)
    cuts = Slicer(average_size=average, size_variation=variation).boundaries(size)
    assert cuts[0] == 0 and cuts[-1] == size
    pieces = [b - a for a, b in itertools.pairwise(cuts)]
    assert all(1 <= piece <= average + variation for piece in pieces)
    assert sum(pieces) == size


def test_slicer_leaves_small_chunks_whole() -> None:
    assert Slicer(average_size=100).boundaries(50) == [0, 50]
    assert Slicer(average_size=100).boundaries(0) == [0]


def test_bandwidth_slices_are_100ms_worth() -> None:
    assert Bandwidth(rate=10).slices(2500) == [(0, 1000), (1000, 2000), (2000, 2500)]
    assert Bandwidth(rate=100).slices(10_000) == [(0, 10_000)]


def test_latency_without_jitter_is_exact() -> None:
    assert Latency(latency=100).delay() == 0.1


def test_latency_jitter_is_uniform_in_half_open_range() -> None:
    random.seed(1)
    draws = {round(Latency(latency=100, jitter=3).delay() * 1000) for _ in range(2000)}
    assert draws == {97, 98, 99, 100, 101, 102}


def test_decode_is_case_insensitive_and_prefers_exact_keys() -> None:
    assert decode_attributes(Latency, {"LATENCY": 5, "Jitter": 2}) == Latency(5, 2)
    assert decode_attributes(Latency, {"Latency": 1, "latency": 9}) == Latency(9, 0)


def test_decode_merges_onto_base_for_updates() -> None:
    assert decode_attributes(Latency, {"jitter": 4}, Latency(100, 1)) == Latency(100, 4)


def test_decode_ignores_unknown_keys_and_defaults_to_zero() -> None:
    assert decode_attributes(Latency, {"unknown": 1}) == Latency(0, 0)
    assert decode_attributes(Latency, None) == Latency(0, 0)


@pytest.mark.parametrize("raw", [{"latency": "100"}, {"latency": 1.5}, {"latency": True}, [1]])
def test_decode_rejects_non_integers(raw: object) -> None:
    with pytest.raises(ValueError):
        decode_attributes(Latency, raw)


def test_decode_accepts_integral_floats() -> None:
    assert decode_attributes(LimitData, {"bytes": 10.0}) == LimitData(10)


@pytest.mark.parametrize(("toxic", "problem"), [
    (Bandwidth(rate=0), "rate must be > 0"),
    (Bandwidth(rate=-1), "rate must be > 0"),
    (Slicer(average_size=0), "average_size must be >= 1"),
    (Slicer(average_size=5, size_variation=5), "size_variation"),
    (Slicer(average_size=5, size_variation=-1), "size_variation"),
    (Slicer(average_size=5, delay=-1), "delay"),
    (Latency(latency=-1), "latency must be >= 0"),
    (Latency(jitter=-1), "jitter must be >= 0"),
    (Latency(latency=10**12), "latency must be <="),
    (LimitData(bytes=-1), "bytes must be >= 0"),
])
def test_validation_names_the_problem(toxic: object, problem: str) -> None:
    problems = toxic.validate()  # type: ignore[attr-defined]
    assert any(problem in p for p in problems), problems


def test_defaults_of_every_type_except_bandwidth_and_slicer_are_valid() -> None:
    invalid_by_default = {name for name, cls in TOXIC_TYPES.items() if cls().validate()}
    assert invalid_by_default == {"bandwidth", "slicer"}


def test_registry_has_every_toxiproxy_type() -> None:
    assert set(TOXIC_TYPES) == {"latency", "bandwidth", "slow_close", "timeout", "reset_peer",
                                "slicer", "limit_data", "noop"}
