"""The desired-state configuration: load and validate the YAML (errors name file, line and
dotted path), and resolve which rules apply to an application with which settings and mode."""

from daemon.desired.config import DesiredConfig, IgnoreTag, Match, Override
from daemon.desired.loader import default_rules, load_config, parse_config
from daemon.desired.model import ConfigurableRule, config_model
from daemon.desired.resolve import Resolution, ResolvedRule, resolve
from daemon.desired.schema import config_json_schema

__all__ = [
    "ConfigurableRule",
    "DesiredConfig",
    "IgnoreTag",
    "Match",
    "Override",
    "Resolution",
    "ResolvedRule",
    "config_json_schema",
    "config_model",
    "default_rules",
    "load_config",
    "parse_config",
    "resolve",
]
