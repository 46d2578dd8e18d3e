"""Pydantic models of the desired-state YAML.

The `rules:` and `overrides[].rules:` sections depend on which rules exist, so the root model
is built per rule set (`config_model(rules)`), with one field per rule id. Unknown keys are
rejected everywhere (`extra="forbid"`). Values that YAML reads in a surprising way (account ids
as numbers, tag values as booleans) get a message that says how to write them.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Annotated, Any, ClassVar, Literal, Protocol

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    ValidationError,
    create_model,
    field_validator,
    model_validator,
)

from daemon.desired.evidence_model import evidence_models
from daemon.regions import region_problem
from daemon.state import Mode
from remediations.base import RuleSettings
from remediations.disruption import Disruption

CONFIG_VERSION = 1
DEFAULT_IGNORE_TAG_KEY = "flink-remediator/ignore"
_ACCOUNT = re.compile(r"^\d{12}$")
# us-east-1, eu-central-2, us-gov-west-1, us-isob-east-1 ...
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")
_REGION_GLOB = re.compile(r"^[a-z0-9*?\[\]!-]+$")


class ConfigurableRule(Protocol):
    """What the config needs from a rule (every `remediations.base.Rule` has it)."""

    id: ClassVar[str]
    settings_model: ClassVar[type[RuleSettings]]
    default_mode: ClassVar[Mode]


def _account_from_yaml(value: object) -> object:
    # YAML reads an unquoted 012345678901 as the number 12345678901: the zero is gone for good.
    if isinstance(value, int) and not isinstance(value, bool):
        if len(str(value)) == 12:
            return str(value)
        raise ValueError(
            f"account ids are 12 digits; YAML read {value} as a number: quote it, "
            f"e.g. '{value:012d}'"
        )
    return value


def _check_account(value: str) -> str:
    if not _ACCOUNT.match(value):
        raise ValueError(f"account ids are 12 digits, got {value!r}")
    return value


def _check_region(value: str) -> str:
    if not _REGION.match(value):
        raise ValueError(f"not an AWS region name: {value!r} (e.g. 'eu-west-1')")
    if problem := region_problem(value):
        raise ValueError(problem)
    return value


def _check_region_glob(value: str) -> str:
    if not _REGION_GLOB.match(value):
        raise ValueError(f"not an AWS region name or glob: {value!r} (e.g. 'eu-*')")
    return value


def _tag_string(value: object) -> object:
    if isinstance(value, bool | int | float):
        boolean = isinstance(value, bool)
        text, kind = (str(value).lower(), "boolean") if boolean else (str(value), "number")
        raise ValueError(f"tag values are strings; YAML read {text} as a {kind}: write '{text}'")
    return value


def _one_or_many(value: object) -> object:
    return [value] if isinstance(value, str | bool | int | float) else value


AccountId = Annotated[
    str,
    BeforeValidator(_account_from_yaml),
    AfterValidator(_check_account),
    Field(json_schema_extra={"pattern": _ACCOUNT.pattern}),
]
Region = Annotated[
    str, AfterValidator(_check_region), Field(json_schema_extra={"pattern": _REGION.pattern})
]
RegionGlob = Annotated[str, AfterValidator(_check_region_glob)]
Glob = Annotated[str, Field(min_length=1)]
TagValue = Annotated[str, BeforeValidator(_tag_string)]
TagValues = Annotated[
    list[TagValue],
    BeforeValidator(_one_or_many, json_schema_input_type=str | list[str]),
    Field(min_length=1),
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DefaultsModel(_Strict):
    mode: Mode | None = Field(
        default=None,
        description="Mode of every rule that does not set its own; else the rule's default.",
    )
    disruption: Disruption | None = Field(
        default=None,
        description="Fixes that restart a RUNNING app, for rules that set none (else alert).",
    )


class IgnoreTagModel(_Strict):
    key: str = Field(default=DEFAULT_IGNORE_TAG_KEY, min_length=1)
    value: TagValue = Field(default="true", description="Compared case-insensitively.")
    requires_waiver: bool = Field(
        default=False,
        description="Honour the tag only on an app a waiver of every rule ('*') covers.",
    )


def _tag_key_only(value: object) -> object:
    # `ignore_tag: my/opt-out`: the plain string form names the key (value "true").
    return {"key": value} if isinstance(value, str) else value


IgnoreTag = Annotated[
    IgnoreTagModel, BeforeValidator(_tag_key_only, json_schema_input_type=str | IgnoreTagModel)
]


class RoleTagModel(_Strict):
    key: str = Field(min_length=1, max_length=128)
    value: TagValue = Field(description="Compared exactly, as IAM's StringEquals does.")


class ExecutionRolesModel(_Strict):
    """Which IAM roles the daemon may change: the scope of the role writes in `iam-policy`.
    `path` is required; with a `tag` too, a role needs both. Roles outside it are reported, and
    a fix on them is denied by IAM."""

    path: str | None = Field(
        default=None,
        validate_default=True,
        pattern=r"^/([\w+=,.@-]+/)+$",
        description="IAM role path the execution roles live under, e.g. /flink/ (required).",
    )
    tag: RoleTagModel | None = Field(
        default=None, description="Tag every execution role has, in addition to the path."
    )

    @field_validator("path")
    @classmethod
    def _path_is_required(cls, path: str | None) -> str | None:
        # A role's path is fixed at creation; a tag is not. With a tag alone, anyone allowed
        # iam:TagRole could tag an admin role and so bring it into the daemon's write scope.
        if path is None:
            raise ValueError(
                "`path` is required (e.g. /flink/): a tag-only scope lets anyone with "
                "iam:TagRole bring any role, an admin role too, into the daemon's write scope; "
                "a role's path cannot change after creation"
            )
        return path


_ROLE_ARN = r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+$"
# A role ARN, or a template whose account is `{account}` (filled in per account).
_ROLE_TEMPLATE = r"^arn:aws[a-z-]*:iam::(\d{12}|\{account\}):role/[\w+=,.@/-]+$"
_EXTERNAL_ID = r"^[A-Za-z0-9_+=,.@:/-]{2,1224}$"
_OU_OR_ROOT = r"^(ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}|r-[0-9a-z]{4,32})$"


class AccountModel(_Strict):
    """One account as a mapping: its id and, optionally, how to reach it."""

    id: AccountId
    assume_role: str | None = Field(
        default=None,
        pattern=_ROLE_TEMPLATE,
        description="Role the daemon assumes in this account (overrides the top-level one).",
    )
    external_id: str | None = Field(default=None, pattern=_EXTERNAL_ID)


class OrganizationModel(_Strict):
    """Accounts discovered in AWS Organizations (re-read on every sweep): every ACTIVE account
    under these OUs or roots, recursively, except the excluded ones."""

    ou_ids: list[Annotated[str, Field(pattern=_OU_OR_ROOT)]] = Field(min_length=1)
    exclude_accounts: list[AccountId] = Field(default_factory=list)


def _account_entry(value: object) -> str | AccountModel:
    # A plain validator, so an error names `accounts[N]` (or `accounts[N].field`) only.
    if isinstance(value, dict):
        return AccountModel.model_validate(value)
    value = _account_from_yaml(value)
    if not isinstance(value, str):
        raise ValueError("an account is a 12-digit id or a mapping {id, assume_role, external_id}")
    return _check_account(value)


AccountEntry = Annotated[
    str | AccountModel,
    PlainValidator(_account_entry, json_schema_input_type=AccountId | AccountModel),
]


class MatchModel(_Strict):
    """Which applications an override applies to: all given criteria must hold."""

    names: list[Glob] | None = Field(default=None, description="Application name globs.")
    tags: dict[str, TagValues] | None = Field(
        default=None, description="Tag key -> value glob or list of globs (any may match)."
    )
    accounts: list[AccountId] | None = None
    regions: list[RegionGlob] | None = Field(default=None, description="Region names or globs.")

    @model_validator(mode="after")
    def _not_empty(self) -> MatchModel:
        if not any(v is not None for v in (self.names, self.tags, self.accounts, self.regions)):
            raise ValueError(
                "match needs at least one of names, tags, accounts, regions "
                "(settings for every application belong in the top-level rules:)"
            )
        return self


def _after(self: Any, *_: Any) -> Any:
    return self


def _before(cls: Any, data: Any, *_: Any) -> Any:
    return data


def _wrap(cls: Any, data: Any, handler: Any, *_: Any) -> Any:
    return handler(data)


_PASS_THROUGH = {
    "after": _after,
    "before": classmethod(_before),
    "plain": classmethod(_before),
    "wrap": classmethod(_wrap),
}


def _partial(model: type[RuleSettings]) -> type[RuleSettings]:
    """The same settings with every field optional: what an override may set. Values given
    are validated exactly as in the full model (field validators included); a default of None
    is never validated. Cross-field (model) validators are replaced by pass-throughs here:
    they run on the merged settings, where every field has a value."""
    skip = {
        name: _PASS_THROUGH[decorator.info.mode]
        for name, decorator in model.__pydantic_decorators__.model_validators.items()
    }
    fields: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        optional = copy.copy(info)
        optional.default = None
        optional.default_factory = None
        optional.json_schema_extra = _drop_default
        fields[name] = (info.annotation, optional)
    partial: type[RuleSettings] = create_model(  # type: ignore[call-overload]
        f"{model.__name__}Override",
        __base__=model,
        __module__=model.__module__,
        __namespace__=skip,
        **fields,
    )
    return partial


def _drop_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


def _none_is_empty(value: object) -> object:
    # `cloudwatch_logging:` with nothing after it reads as null: take it as "all defaults".
    return {} if value is None else value


def _rule_field(model: type[RuleSettings], description: str) -> tuple[Any, Any]:
    annotation: Any = Annotated[model, BeforeValidator(_none_is_empty)]  # type: ignore[valid-type]
    try:
        model()
    except ValidationError:  # a rule without defaults for everything must be configured
        return annotation, Field(description=description)
    return annotation, Field(default_factory=model, description=description)


# (rule id, settings model, description): hashable, so built models are cached per rule set.
_RuleKey = tuple[str, type[RuleSettings], str]


@lru_cache(maxsize=32)
def _build(rules: tuple[_RuleKey, ...]) -> type[BaseModel]:
    # Imported here: the waiver models use MatchModel from this module.
    from daemon.desired.waiver_model import WaiverModel, WaiverPolicyModel

    full: dict[str, Any] = {rid: _rule_field(model, text) for rid, model, text in rules}
    partial: dict[str, Any] = {rid: (_partial(model) | None, None) for rid, model, _ in rules}
    rules_model = create_model("Rules", __base__=_Strict, **full)
    evidence, controls = evidence_models(tuple(rid for rid, _, _ in rules))
    partial_rules = create_model("OverrideRules", __base__=_Strict, **partial)
    override = create_model(
        "Override",
        __base__=_Strict,
        name=(str, Field(min_length=1, description="Shown in plan output and audit records.")),
        match=(MatchModel, ...),
        rules=(partial_rules, Field(description="Any subset of each rule's settings.")),
    )
    root: type[BaseModel] = create_model(
        "DesiredState",
        __base__=_Strict,
        version=(Literal[1], Field(description=f"Config format version: {CONFIG_VERSION}.")),
        accounts=(
            list[AccountEntry],
            Field(description="Account ids, or mappings {id, assume_role, external_id}."),
        ),
        regions=(list[Region], Field(min_length=1)),
        defaults=(DefaultsModel, Field(default_factory=DefaultsModel)),
        ignore_tag=(IgnoreTag | None, Field(default_factory=IgnoreTagModel)),
        execution_roles=(
            ExecutionRolesModel | None,
            Field(default=None, description="The roles role-writing rules may change."),
        ),
        daemon_role_arn=(
            str | None,
            Field(
                default=None,
                pattern=_ROLE_ARN,
                description="The daemon's own role: `iam-policy` denies every write on it.",
            ),
        ),
        assume_role=(
            str | None,
            Field(
                default=None,
                pattern=_ROLE_TEMPLATE,
                description="Role assumed in every account but the credentials' own, e.g. "
                "arn:aws:iam::{account}:role/flink-remediator-member.",
            ),
        ),
        external_id=(str | None, Field(default=None, pattern=_EXTERNAL_ID)),
        organization=(
            OrganizationModel | None,
            Field(default=None, description="Also every account found under these OUs."),
        ),
        rules=(rules_model, Field(default_factory=rules_model)),
        overrides=(list[override], Field(default_factory=list)),  # type: ignore[valid-type]
        waivers=(
            list[WaiverModel],
            Field(default_factory=list, description="Exceptions with a ticket, approver, expiry."),
        ),
        waiver_policy=(WaiverPolicyModel, Field(default_factory=WaiverPolicyModel)),
        evidence=(evidence, Field(default_factory=evidence)),
        controls=(controls, Field(default_factory=controls)),
    )
    return root


def config_model(rules: Iterable[ConfigurableRule]) -> type[BaseModel]:
    """The root pydantic model for configs that may configure exactly these rules."""
    return _build(tuple((r.id, r.settings_model, _describe(r)) for r in rules))


def _describe(rule: ConfigurableRule) -> str:
    summary = str(getattr(rule, "summary", "") or rule.id)
    return f"{summary} (default mode: {rule.default_mode})"
