"""Compliance evidence: rule verdicts as Security Hub findings, and the `report` command's
per-application, per-control audit report (HTML, JSON, CSV)."""
