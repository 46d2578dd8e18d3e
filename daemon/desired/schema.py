"""JSON Schema of the desired-state file, for editors (yaml-language-server) and the Helm chart."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from daemon.desired.loader import default_rules
from daemon.desired.model import ConfigurableRule, config_model

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def config_json_schema(rules: Iterable[ConfigurableRule] | None = None) -> dict[str, Any]:
    """The schema of configs that may configure `rules` (default: every registered rule)."""
    model = config_model(tuple(default_rules() if rules is None else rules))
    schema = model.model_json_schema(mode="validation")
    schema["title"] = "flink-remediator desired state"
    return {"$schema": SCHEMA_DIALECT, **schema}
