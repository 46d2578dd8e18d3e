"""Load and validate a desired-state file. Every problem found is reported, each with the file,
the line and the dotted path of the field; `ConfigError.problems` holds them all."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from daemon.desired.config import (
    DesiredConfig,
    ExpiredWaivers,
    IgnoreTag,
    Match,
    Organization,
    Override,
    Waiver,
    WaiverPolicy,
)
from daemon.desired.glob import glob_matches
from daemon.desired.limits import Limits
from daemon.desired.model import CONFIG_VERSION, ConfigurableRule, config_model
from daemon.desired.problems import from_validation_error
from daemon.desired.source import Problem, Source, fail, format_path, read_source, too_big
from daemon.desired.waivers import waiver_problems
from daemon.errors import ConfigError
from daemon.sessions import AccountAccess
from remediations.base import RuleSettings


def default_rules() -> tuple[ConfigurableRule, ...]:
    """The registered rules (read at call time, so the registry can grow)."""
    from remediations import REGISTRY

    return tuple(REGISTRY)


def load_config(
    path: str | Path,
    rules: Iterable[ConfigurableRule] | None = None,
    limits: Limits | None = None,
    now: datetime | None = None,
    expired_waivers: ExpiredWaivers = "error",
) -> DesiredConfig:
    """Read and validate the file at `path`. Raises ConfigError listing every problem.
    `limits` defaults to `Limits.from_env()` (FLINK_REMEDIATOR_CONFIG_MAX_BYTES); `now` (the
    caller's wall clock, default the system's) decides whether a waiver has expired;
    `expired_waivers="ignore"` (the daemon's start) leaves an expired waiver out instead of
    refusing the file, and lists it in `DesiredConfig.expired_waivers`."""
    limits = limits or env_limits(str(path))
    content = read_config_bytes(path, limits)
    return parse_config(content, str(path), rules, limits, now, expired_waivers)


def env_limits(file: str) -> Limits:
    try:
        return Limits.from_env()
    except ValueError as err:
        raise ConfigError(file, [f"{file}: {err}"]) from None


def read_config_bytes(path: str | Path, limits: Limits) -> bytes:
    """The file's bytes; never reads more than the size limit (plus one byte to notice)."""
    file = str(path)
    try:
        with open(path, "rb") as stream:
            content = stream.read(limits.max_bytes + 1)
            size = os.fstat(stream.fileno()).st_size
    except OSError as err:
        raise ConfigError(file, [f"{file}: cannot read: {err.strerror or err}"]) from None
    if len(content) > limits.max_bytes:
        raise fail(file, [too_big(max(size, len(content)), limits)])
    return content


def parse_config(
    content: bytes | str,
    file: str = "<config>",
    rules: Iterable[ConfigurableRule] | None = None,
    limits: Limits | None = None,
    now: datetime | None = None,
    expired_waivers: ExpiredWaivers = "error",
) -> DesiredConfig:
    """Validate `content` as the desired-state file `file` (named in messages); `now` judges
    waiver expiries (default: the system clock); `expired_waivers` as for `load_config`."""
    known = tuple(default_rules() if rules is None else rules)
    raw = content.encode("utf-8") if isinstance(content, str) else content
    source = read_source(file, raw, limits)
    problems = list(source.problems)
    version = source.data.get("version")
    if "version" in source.data and (version != CONFIG_VERSION or isinstance(version, bool)):
        # Another version's shape is unknown: checking the rest would only add noise.
        problems.append(
            Problem(
                source.line_of(("version",)),
                "version",
                f"unsupported config version {version!r}; "
                f"this flink-remediator reads version {CONFIG_VERSION}",
            )
        )
        raise fail(file, problems)
    model = config_model(known)
    try:
        validated = model.model_validate(source.data)
    except ValidationError as err:
        raise fail(file, problems + from_validation_error(source, model, err)) from None
    by_id = {rule.id: rule for rule in known}
    problems += _long_globs(source, validated, limits or Limits())
    if problems:  # matching a glob over the limit is work we do not do, even to check it
        raise fail(file, problems)
    problems += _cross_checks(source, validated, by_id)
    checked: Any = validated
    policy = WaiverPolicy(checked.waiver_policy.max_days, checked.waiver_policy.warn_days)
    moment = now or datetime.now(UTC)
    ignore = expired_waivers == "ignore"
    problems += waiver_problems(checked.waivers, policy, by_id, moment, source.line_of, ignore)
    if problems:
        raise fail(file, problems)
    expired = {
        index: Problem(
            source.line_of(("waivers", index, "expires")),
            f"waivers[{index}].expires",
            f"waiver expired at {w.expires:%Y-%m-%dT%H:%M:%SZ}: ignored (treated as absent)",
        ).format(file)
        for index, w in enumerate(checked.waivers)
        if ignore and w.expires <= moment
    }
    return _build(source, validated, by_id, policy, expired)


def _cross_checks(
    source: Source, config: Any, rules: Mapping[str, ConfigurableRule]
) -> list[Problem]:
    """What one section cannot know alone: names unique, overrides that can never match,
    and each override's settings merged onto `rules:` still valid as a whole."""
    ids = [_account_id(a) for a in config.accounts]
    problems = _listed_twice(source, ("accounts",), ids)
    if not ids and config.organization is None:
        problems.append(
            _at(source, ("accounts",), "list at least one account, or give `organization:`")
        )
    problems += _listed_twice(source, ("regions",), config.regions)
    first_name: dict[str, int] = {}
    for index, override in enumerate(config.overrides):
        here = ("overrides", index)
        for key in ("names", "accounts", "regions"):
            problems += _listed_twice(source, (*here, "match", key), getattr(override.match, key))
        if override.name in first_name:
            problems.append(
                _at(
                    source,
                    (*here, "name"),
                    f"duplicate override name {override.name!r} "
                    f"(also overrides[{first_name[override.name]}])",
                )
            )
        first_name.setdefault(override.name, index)
        for pos, account in enumerate(override.match.accounts or ()):
            if config.organization is None and account not in ids:
                problems.append(
                    _at(
                        source,
                        (*here, "match", "accounts", pos),
                        f"account {account!r} is not in the top-level accounts, "
                        "so this override never matches",
                    )
                )
        for pos, glob in enumerate(override.match.regions or ()):
            if not any(glob_matches(glob, region) for region in config.regions):
                problems.append(
                    _at(
                        source,
                        (*here, "match", "regions", pos),
                        f"{glob!r} matches none of the top-level regions, "
                        "so this override never matches",
                    )
                )
        for rule_id, partial in _set_rules(override.rules).items():
            base: RuleSettings = getattr(config.rules, rule_id)
            model = rules[rule_id].settings_model
            try:
                model.model_validate({**base.model_dump(), **partial})
            except ValidationError as err:
                problems += from_validation_error(source, model, err, (*here, "rules", rule_id))
    return problems


def _long_globs(source: Source, config: Any, limits: Limits) -> list[Problem]:
    problems: list[Problem] = []
    entries = [("overrides", i, o.match) for i, o in enumerate(config.overrides)]
    entries += [("waivers", i, w.match) for i, w in enumerate(config.waivers)]
    for section, index, match in entries:
        places: list[tuple[tuple[str | int, ...], list[str]]] = [
            (("names",), match.names or []),
            (("regions",), match.regions or []),
        ]
        places += [(("tags", key), values) for key, values in (match.tags or {}).items()]
        for where, globs in places:
            for pos, glob in enumerate(globs):
                if len(glob) > limits.max_glob_chars:
                    problems.append(
                        _at(
                            source,
                            (section, index, "match", *where, pos),
                            f"glob of {len(glob)} characters, over the limit of "
                            f"{limits.max_glob_chars}",
                        )
                    )
    return problems


def _listed_twice(
    source: Source, loc: tuple[str | int, ...], values: list[str] | None
) -> list[Problem]:
    problems: list[Problem] = []
    first: dict[str, int] = {}
    for index, value in enumerate(values or ()):
        if value in first:
            problems.append(
                _at(source, (*loc, index), f"{value!r} is listed twice (also [{first[value]}])")
            )
        first.setdefault(value, index)
    return problems


def _at(source: Source, loc: tuple[str | int, ...], message: str) -> Problem:
    return Problem(source.line_of(loc), format_path(loc), message)


def _set_rules(section: BaseModel) -> dict[str, dict[str, Any]]:
    """rule id -> the fields an override explicitly sets for it."""
    out: dict[str, dict[str, Any]] = {}
    for rule_id in section.model_fields_set:
        partial = getattr(section, rule_id)
        if partial is not None:
            out[rule_id] = {name: getattr(partial, name) for name in partial.model_fields_set}
    return out


def _build(
    source: Source,
    config: Any,
    rules: Mapping[str, ConfigurableRule],
    policy: WaiverPolicy,
    expired: Mapping[int, str] | None = None,
) -> DesiredConfig:
    """`expired`: waivers left out (index -> the problem line)."""
    expired = expired or {}
    overrides = tuple(
        Override(
            name=o.name,
            match=_match(o.match),
            rules=_set_rules(o.rules),
            line=source.line_of(("overrides", index)),
        )
        for index, o in enumerate(config.overrides)
    )
    waivers = tuple(
        Waiver(
            w.id,
            _match(w.match),
            tuple(w.rules),
            w.reason,
            w.ticket,
            w.approved_by,
            w.expires,
            source.line_of(("waivers", index)),
        )
        for index, w in enumerate(config.waivers)
        if index not in expired
    )
    tag = config.ignore_tag
    return DesiredConfig(
        path=source.file,
        sha256=source.sha256,
        accounts=tuple(_account_id(a) for a in config.accounts),
        regions=tuple(config.regions),
        default_mode=config.defaults.mode,
        default_disruption=config.defaults.disruption,
        ignore_tag=None if tag is None else IgnoreTag(tag.key, tag.value, tag.requires_waiver),
        rules={rule_id: getattr(config.rules, rule_id) for rule_id in rules},
        overrides=overrides,
        known_rules=rules,
        **DesiredConfig.evidence_from(config),
        execution_roles=config.execution_roles,
        daemon_role_arn=config.daemon_role_arn,
        **_account_access(config),
        waivers=waivers,
        waiver_policy=policy,
        expired_waivers={config.waivers[i].id: line for i, line in expired.items()},
    )


def _match(model: Any) -> Match:
    return Match(
        names=_tuple(model.names),
        tags=None if model.tags is None else {k: tuple(v) for k, v in model.tags.items()},
        accounts=_tuple(model.accounts),
        regions=_tuple(model.regions),
    )


def _account_id(entry: Any) -> str:
    return entry if isinstance(entry, str) else str(entry.id)


def _account_access(config: Any) -> dict[str, Any]:
    """`accounts:` mappings, the top-level role template and `organization:` as config values."""
    entries = {
        a.id: AccountAccess(a.id, a.assume_role, a.external_id)
        for a in config.accounts
        if not isinstance(a, str)
    }
    org = config.organization
    return {
        "account_entries": entries,
        "assume_role": config.assume_role,
        "external_id": config.external_id,
        "organization": None
        if org is None
        else Organization(tuple(org.ou_ids), frozenset(org.exclude_accounts)),
    }


def _tuple(values: list[str] | None) -> tuple[str, ...] | None:
    return None if values is None else tuple(values)
