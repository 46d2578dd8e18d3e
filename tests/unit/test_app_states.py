"""The safeguards' local copy of each application's state: the decoded state and its version,
no copy of the stored data, nothing kept for an application whose state is empty."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from daemon.reconcile.safeguards._states import AppStates, app_key
from daemon.reconcile.safeguards.records import AppState, FixCharges
from daemon.state import AppRef
from daemon.store import get
from daemon.store.memory import MemoryStore

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
APPS = [AppRef("123456789012", "eu-west-1", f"app-{n}") for n in range(3)]


def charged(state: AppState) -> AppState:
    return replace(state, charges={"snapshots": FixCharges(times=(NOW,))})


def test_a_sweep_of_apps_without_state_keeps_no_local_copy_of_them() -> None:
    states = AppStates(MemoryStore(lambda: NOW), lambda: NOW)
    states.prefetch(APPS)
    assert [states.load(app) for app in APPS] == [AppState()] * 3
    assert states.cached() == []
    states.change(APPS[0], charged)
    assert [app for app, _ in states.cached()] == [APPS[0]]


def test_a_state_emptied_keeps_its_version_for_the_next_write() -> None:
    store = MemoryStore(lambda: NOW)
    states = AppStates(store, lambda: NOW)
    states.change(APPS[0], charged)
    states.change(APPS[0], lambda s: AppState())  # stored as version 2, not kept locally
    assert states.cached() == []
    assert states.change(APPS[0], charged) == charged(AppState())
    stored = get(store, app_key(APPS[0]))
    assert stored is not None and stored.version == 3 and stored.data["charges"]
