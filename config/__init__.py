"""Installed as the package `daemon.bundled` (pyproject.toml maps it onto this folder), so the
EventBridge patterns, the example desired state, the alert rules and the dashboard ship in the
wheel and are read with importlib.resources. Data only: nothing here is code."""
