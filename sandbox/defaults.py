"""Defaults of the sandbox, importable without loading moto (the CLI's help stays light and
the container image, which has no moto, can still list every command)."""

DEFAULT_REGION = "eu-west-1"
DEFAULT_PORT = 4566
PORT_ENV = "FLINK_REMEDIATOR_SANDBOX_PORT"
DEFAULT_TRANSITION_SECONDS = 0.3
