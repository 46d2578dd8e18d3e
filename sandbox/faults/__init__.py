"""Fault injection in front of the sandbox (see sandbox/README.md, "Faults")."""

from sandbox.faults.injector import FaultInjector
from sandbox.faults.layer import FaultLayer
from sandbox.faults.rules import FaultRule, FaultRuleError, parse_rules

__all__ = ["FaultInjector", "FaultLayer", "FaultRule", "FaultRuleError", "parse_rules"]
