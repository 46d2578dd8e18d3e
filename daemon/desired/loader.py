"""Load and validate a desired-state file. Every problem found is reported, each with the file,
the line and the dotted path of the field; `ConfigError.problems` holds them all."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from daemon.desired.config import DesiredConfig, IgnoreTag, Match, Override
from daemon.desired.model import CONFIG_VERSION, ConfigurableRule, config_model
from daemon.desired.problems import from_validation_error
from daemon.desired.source import Problem, Source, fail, format_path, read_source
from daemon.errors import ConfigError
from remediations.base import RuleSettings


def default_rules() -> tuple[ConfigurableRule, ...]:
    """The registered rules (read at call time, so the registry can grow)."""
    from remediations import REGISTRY

    return tuple(REGISTRY)


def load_config(path: str | Path, rules: Iterable[ConfigurableRule] | None = None) -> DesiredConfig:
    """Read and validate the file at `path`. Raises ConfigError listing every problem."""
    file = str(path)
    try:
        content = Path(path).read_bytes()
    except OSError as err:
        raise ConfigError(file, [f"{file}: cannot read: {err.strerror or err}"]) from None
    return parse_config(content, file, rules)


def parse_config(
    content: bytes | str, file: str = "<config>", rules: Iterable[ConfigurableRule] | None = None
) -> DesiredConfig:
    """Validate `content` as the desired-state file `file` (named in messages)."""
    known = tuple(default_rules() if rules is None else rules)
    raw = content.encode("utf-8") if isinstance(content, str) else content
    source = read_source(file, raw)
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
    problems += _cross_checks(source, validated, by_id)
    if problems:
        raise fail(file, problems)
    return _build(source, validated, by_id)


def _cross_checks(
    source: Source, config: Any, rules: Mapping[str, ConfigurableRule]
) -> list[Problem]:
    """What one section cannot know alone: names unique, overrides that can never match,
    and each override's settings merged onto `rules:` still valid as a whole."""
    problems = _listed_twice(source, ("accounts",), config.accounts)
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
            if account not in config.accounts:
                problems.append(
                    _at(
                        source,
                        (*here, "match", "accounts", pos),
                        f"account {account!r} is not in the top-level accounts, "
                        "so this override never matches",
                    )
                )
        for pos, glob in enumerate(override.match.regions or ()):
            if not any(fnmatchcase(region, glob) for region in config.regions):
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


def _build(source: Source, config: Any, rules: Mapping[str, ConfigurableRule]) -> DesiredConfig:
    overrides = tuple(
        Override(
            name=o.name,
            match=Match(
                names=_tuple(o.match.names),
                tags=None
                if o.match.tags is None
                else {k: tuple(v) for k, v in o.match.tags.items()},
                accounts=_tuple(o.match.accounts),
                regions=_tuple(o.match.regions),
            ),
            rules=_set_rules(o.rules),
            line=source.line_of(("overrides", index)),
        )
        for index, o in enumerate(config.overrides)
    )
    tag = config.ignore_tag
    return DesiredConfig(
        path=source.file,
        sha256=source.sha256,
        accounts=tuple(config.accounts),
        regions=tuple(config.regions),
        default_mode=config.defaults.mode,
        ignore_tag=None if tag is None else IgnoreTag(tag.key, tag.value),
        rules={rule_id: getattr(config.rules, rule_id) for rule_id in rules},
        overrides=overrides,
        known_rules=rules,
        execution_roles=config.execution_roles,
        daemon_role_arn=config.daemon_role_arn,
    )


def _tuple(values: list[str] | None) -> tuple[str, ...] | None:
    return None if values is None else tuple(values)
