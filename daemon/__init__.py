"""flink-remediator: event-driven remediation for Amazon Managed Service for Apache Flink."""

__version__ = "0.1.0"
