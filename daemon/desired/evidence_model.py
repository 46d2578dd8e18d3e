"""Pydantic models of the optional `evidence:` and `controls:` sections.

Both name rules by id (severity per rule, framework references per rule), so, like `rules:`,
they are built per rule set: one optional field per rule id, unknown ids rejected with the line.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, create_model

from remediations.base import Severity

SeverityLabel = Severity  # the labels a rule declares its own severity with
DEFAULT_RUNBOOK_URL = (
    "https://github.com/flink-remediator/flink-remediator/blob/main/docs/runbooks.md"
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def evidence_models(rule_ids: tuple[str, ...]) -> tuple[type[BaseModel], type[BaseModel]]:
    """(the `evidence:` section model, the `controls:` section model) for these rules."""
    severities = create_model(
        "Severities",
        __base__=_Strict,
        **{rid: (SeverityLabel | None, None) for rid in rule_ids},  # type: ignore[call-overload]
    )
    security_hub = create_model(
        "SecurityHub",
        __base__=_Strict,
        enabled=(bool, False),
        region=(
            str | None,
            Field(
                default=None,
                pattern=r"^[a-z]{2}(-[a-z]+)+-\d+$",
                description="Where findings are imported; default: the first configured region.",
            ),
        ),
        severity=(
            severities,
            Field(
                default_factory=severities,
                description="Severity label of a FAILED finding, per rule (else the default).",
            ),
        ),
        flush_interval_seconds=(
            int,
            Field(default=60, ge=5, le=3600, description="How often the daemon imports."),
        ),
        runbook_url=(
            str,
            Field(
                default=DEFAULT_RUNBOOK_URL,
                pattern=r"^https://",
                description="docs/runbooks.md as your users can open it (anchors are added).",
            ),
        ),
    )
    evidence = create_model(
        "Evidence",
        __base__=_Strict,
        security_hub=(security_hub, Field(default_factory=security_hub)),
    )
    reference_list: Any = list[Annotated[str, Field(min_length=1)]] | None
    controls = create_model(  # type: ignore[call-overload]
        "Controls",
        __base__=_Strict,
        **{
            rid: (
                reference_list,
                Field(default=None, description="Framework references, e.g. 'PCI DSS 10.2'."),
            )
            for rid in rule_ids
        },
    )
    return evidence, controls
