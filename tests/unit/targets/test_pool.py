"""The upstream pool: round-robin, passive ejection, re-admission on trial."""

from __future__ import annotations

from targets.common.config import Upstream
from targets.common.pool import UpstreamPool


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def pool(clock: Clock, **kw: object) -> UpstreamPool:
    ups = [Upstream(instance=n, url=f"http://127.0.0.1:{p}") for n, p in
           (("a", 1), ("b", 2), ("c", 3))]
    return UpstreamPool("svc", ups, eject_after=2, eject_for=5, clock=clock, **kw)  # type: ignore[arg-type]


def test_spreads_calls_over_every_instance() -> None:
    p = pool(Clock())
    assert {p.pick().id for _ in range(6)} == {"a", "b", "c"}


def test_avoids_instances_already_tried() -> None:
    p = pool(Clock())
    for _ in range(5):
        assert p.pick(avoid={"a", "b"}).id == "c"


def test_ejects_a_failing_instance_and_readmits_it_on_trial() -> None:
    clock = Clock()
    p = pool(clock)
    a = p.members[0]
    p.failed(a)
    p.failed(a)
    assert a not in p.available() and p.ejections == 1
    assert "a" not in {p.pick().id for _ in range(10)}
    clock.now += 6
    assert a in p.available()
    p.failed(a)  # one failure on trial is enough to go back out
    assert a not in p.available() and p.ejections == 2


def test_a_success_clears_the_failures() -> None:
    p = pool(Clock())
    a = p.members[0]
    p.failed(a)
    p.succeeded(a)
    p.failed(a)
    assert a in p.available()


def test_still_answers_when_everything_is_ejected() -> None:
    p = pool(Clock())
    for member in p.members:
        p.failed(member)
        p.failed(member)
    assert p.available() == [] and p.pick().id in {"a", "b", "c"}


def test_without_ejection_a_dead_instance_stays_in_rotation() -> None:
    p = pool(Clock(), ejection=False)
    a = p.members[0]
    for _ in range(10):
        p.failed(a)
    assert a in p.available() and p.ejections == 0
