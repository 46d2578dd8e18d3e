"""Our own Managed Service for Apache Flink (kinesisanalyticsv2) backend: moto's is too thin."""
