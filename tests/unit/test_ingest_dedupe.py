"""The eventID cache: TTL, bound, forget, thread safety. Time is injected, nothing sleeps."""

from __future__ import annotations

import threading

import pytest

from daemon.ingest.dedupe import EventIdCache
from tests.clock import FakeClock


def test_second_sighting_is_a_duplicate_until_the_ttl_passes() -> None:
    clock = FakeClock(now=1000.0)
    cache = EventIdCache(maxsize=10, ttl=60, timer=clock)
    assert not cache.seen_before("a")
    assert cache.seen_before("a")
    assert not cache.seen_before("b")
    clock.now += 59.9
    assert cache.seen_before("a")
    clock.now += 0.2
    assert len(cache) == 0
    assert not cache.seen_before("a")  # expired: seen as new, and remembered again
    assert cache.seen_before("a")


def test_a_duplicate_sighting_does_not_extend_the_ttl() -> None:
    clock = FakeClock(now=1000.0)
    cache = EventIdCache(maxsize=10, ttl=60, timer=clock)
    cache.seen_before("a")
    clock.now += 50
    assert cache.seen_before("a")
    clock.now += 11
    assert not cache.seen_before("a")


def test_forget_lets_the_redelivery_through() -> None:
    cache = EventIdCache(maxsize=10, ttl=60, timer=FakeClock(now=1000.0))
    assert not cache.seen_before("a")
    cache.forget("a")
    cache.forget("never-seen")  # harmless
    assert not cache.seen_before("a")
    assert cache.seen_before("a")


def test_bounded_oldest_goes_first() -> None:
    clock = FakeClock(now=1000.0)
    cache = EventIdCache(maxsize=3, ttl=60, timer=clock)
    for event_id in "abcd":
        clock.now += 1
        assert not cache.seen_before(event_id)
    assert len(cache) == 3
    assert cache.seen_before("d") and cache.seen_before("c") and cache.seen_before("b")
    assert not cache.seen_before("a")  # evicted, so it counts as new


@pytest.mark.parametrize(("maxsize", "ttl"), [(0, 60), (10, 0), (10, -1)])
def test_rejects_useless_settings(maxsize: int, ttl: float) -> None:
    with pytest.raises(ValueError):
        EventIdCache(maxsize=maxsize, ttl=ttl)


def test_exactly_one_thread_sees_an_id_first() -> None:
    cache = EventIdCache(maxsize=100_000, ttl=60, timer=FakeClock(now=1000.0))
    firsts: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(8)

    def worker() -> None:
        barrier.wait()
        for n in range(2000):
            event_id = f"id-{n}"
            if not cache.seen_before(event_id):
                with lock:
                    firsts.append(event_id)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(firsts) == sorted(f"id-{n}" for n in range(2000))


def test_remember_renews_an_id_and_moves_it_behind_the_others() -> None:
    clock = FakeClock(now=1000.0)
    cache = EventIdCache(maxsize=3, ttl=60, timer=clock)
    for event_id in "abc":
        clock.now += 1
        cache.remember(event_id)
    clock.now += 50  # a would expire at 1061, now renewed to 1112
    cache.remember("a")
    cache.remember("d")  # over the bound: b, now the oldest, goes
    assert not cache.contains("b")
    assert cache.contains("a") and cache.contains("c") and cache.contains("d")
    clock.now += 10  # c's TTL has passed, a's renewed one has not
    assert not cache.contains("c")
    assert cache.contains("a")
