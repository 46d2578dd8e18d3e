"""A local AWS account for demos and tests: moto server plus Managed Flink and CloudTrail
events (see README.md)."""
