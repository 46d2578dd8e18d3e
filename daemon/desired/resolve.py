"""Which rules apply to one application, with which settings and mode.

The one precedence rule: start from each rule's defaults, apply the top-level `rules:`, then
every override whose match applies, in file order, field by field (a later override wins for
the fields it sets). The mode is the rule's `mode` after that, else `defaults.mode`, else the
rule's own default mode. Pure; the merged settings are memoised per set of matching overrides.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType

from daemon.desired.config import DesiredConfig
from daemon.desired.waivers import waived_rules
from daemon.errors import ConfigError
from daemon.state import AppRef, Mode, WaiverRef
from remediations.base import RuleSettings


@dataclass(frozen=True)
class ResolvedRule:
    settings: RuleSettings
    mode: Mode
    overrides: tuple[str, ...] = ()  # names of the overrides that set something for this rule


@dataclass(frozen=True)
class Resolution:
    """Either `ignored` (why the app is skipped) or the enabled rules of one application."""

    app: AppRef
    ignored: str = ""
    rules: Mapping[str, ResolvedRule] = field(default_factory=lambda: MappingProxyType({}))
    overrides: tuple[str, ...] = ()  # names of every override whose match applies
    # rule id -> the waiver in force that allows its drift (an enabled rule's only)
    waivers: Mapping[str, WaiverRef] = field(default_factory=lambda: MappingProxyType({}))
    # the opt-out tag is on the app but not honoured: why (ignore_tag.requires_waiver)
    opt_out_refused: str = ""


def resolve(
    config: DesiredConfig, app: AppRef, tags: Mapping[str, str], now: datetime | None = None
) -> Resolution:
    """`now` (the caller's wall clock; default the system's) decides which waivers are in
    force."""
    moment = now or datetime.now(UTC)
    if app.account not in config.accounts:
        return Resolution(app, ignored=f"account {app.account} is not in the config's accounts")
    if app.region not in config.regions:
        return Resolution(app, ignored=f"region {app.region} is not in the config's regions")
    refused = ""
    if config.ignore_tag is not None and config.ignore_tag.applies(tags):
        tag = config.ignore_tag
        opt_out = f"opt-out tag {tag.key}={tags[tag.key]}"
        if not tag.requires_waiver:
            return Resolution(app, ignored=opt_out)
        every = next(
            (w for w in config.waivers if w.every_rule and w.covers(app, tags, moment)), None
        )
        if every is not None:
            return Resolution(app, ignored=f"{opt_out}, {every.ref.text}")
        refused = f"{opt_out} not honoured: no waiver of every rule covers it (requires_waiver)"
    matched = tuple(i for i, o in enumerate(config.overrides) if o.match.matches(app, tags))
    rules = config._memo.get(matched)
    if rules is None:
        rules = config._memo[matched] = _merge(config, matched)
    names = tuple(config.overrides[i].name for i in matched)
    waived = waived_rules(config.waivers, app, tags, rules, moment)
    return Resolution(
        app, rules=rules, overrides=names, waivers=MappingProxyType(waived), opt_out_refused=refused
    )


def _merge(config: DesiredConfig, matched: tuple[int, ...]) -> Mapping[str, ResolvedRule]:
    out: dict[str, ResolvedRule] = {}
    for rule_id, base in config.rules.items():
        values = base.model_dump()
        applied: list[str] = []
        for index in matched:
            override = config.overrides[index]
            fields = override.rules.get(rule_id)
            if fields:
                values.update(fields)
                applied.append(override.name)
        settings = base if not applied else _validated(config, rule_id, values, applied)
        if not settings.enabled:
            continue
        if settings.disruption is None and config.default_disruption is not None:
            settings = settings.model_copy(update={"disruption": config.default_disruption})
        mode = settings.mode or config.default_mode or config.known_rules[rule_id].default_mode
        out[rule_id] = ResolvedRule(settings, mode, tuple(applied))
    return MappingProxyType(out)


def _validated(
    config: DesiredConfig, rule_id: str, values: dict[str, object], applied: list[str]
) -> RuleSettings:
    # Each override was checked on its own at load time; only rule-level checks across
    # fields set by different overrides can still fail here.
    model = config.known_rules[rule_id].settings_model
    try:
        return model.model_validate(values)
    except ValueError as err:
        raise ConfigError(
            config.path,
            [
                f"{config.path}: rules.{rule_id}: overrides {', '.join(applied)} combine into "
                f"invalid settings: {err}"
            ],
        ) from err
