"""The subcommands of `flink-remediator`, one module each (registered in daemon/cli.py)."""
