"""Bridge from the desired-state config to the reconciler: the enabled rules of one app."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime

from daemon.desired.config import DesiredConfig
from daemon.desired.resolve import resolve
from daemon.reconcile.reconciler import EnabledRules, Resolver, RuleSource, WaiverLookup
from daemon.state import AppRef, WaiverRef
from remediations import RULES


def resolver_for(current_config: Callable[[], DesiredConfig]) -> Resolver:
    """A resolver that reads the config in force at each call (hot reload swaps it)."""

    def resolver(app: AppRef, tags: Mapping[str, str]) -> EnabledRules | str:
        resolution = resolve(current_config(), app, tags)
        if resolution.ignored:
            return resolution.ignored
        return [
            (rule, resolution.rules[rule_id].settings, resolution.rules[rule_id].mode)
            for rule_id, rule in RULES.items()
            if rule_id in resolution.rules
        ]

    return resolver


def waivers_for(current_config: Callable[[], DesiredConfig]) -> WaiverLookup:
    """The waivers in force for an app's enabled rules, from the config in force at each call."""

    def waivers(app: AppRef, tags: Mapping[str, str], now: datetime) -> Mapping[str, WaiverRef]:
        return resolve(current_config(), app, tags, now).waivers

    return waivers


def rules_for(current_config: Callable[[], DesiredConfig]) -> RuleSource:
    """The enabled rules and the waivers of each app, from the config in force at each call."""
    return RuleSource(resolver_for(current_config), waivers_for(current_config))
