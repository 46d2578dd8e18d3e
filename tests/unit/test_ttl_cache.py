"""The daemon's one TTL cache: entries expire `ttl` seconds after they were made (or after
`since`), on the injected clock, and at most `maxsize` are kept (oldest dropped first)."""

from __future__ import annotations

import pytest

from daemon.ttl_cache import TtlCache
from tests.clock import FakeClock


def test_a_value_lives_exactly_its_ttl() -> None:
    clock = FakeClock(now=100.0)
    cache: TtlCache[str, int] = TtlCache(10, clock)
    cache.put("a", 1)
    clock.now = 109.9
    assert cache.get("a") == 1 and "a" in cache
    clock.now = 110.0
    assert cache.get("a") is None and "a" not in cache and len(cache) == 0


def test_an_entry_ages_from_since() -> None:
    clock = FakeClock(now=100.0)
    cache: TtlCache[str, int] = TtlCache(10, clock)
    cache.put("read-began-earlier", 1, since=95.0)
    clock.now = 104.0
    assert cache.get("read-began-earlier") == 1
    clock.now = 105.0
    assert cache.get("read-began-earlier") is None


def test_as_a_set_add_says_whether_a_key_is_new_and_the_bound_drops_the_oldest() -> None:
    clock = FakeClock(now=0.0)
    cache: TtlCache[str, None] = TtlCache(60, clock, maxsize=2)
    assert cache.add("a") and not cache.add("a")
    cache.add("b")
    cache.add("c")
    assert "a" not in cache and "b" in cache and "c" in cache
    cache.pop("b")
    assert "b" not in cache and cache.add("b")


@pytest.mark.parametrize(("ttl", "maxsize"), [(-1, None), (10, 0)])
def test_nonsense_bounds_are_refused(ttl: float, maxsize: int | None) -> None:
    with pytest.raises(ValueError):
        TtlCache(ttl, FakeClock(), maxsize)
