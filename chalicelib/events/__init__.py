"""Event handlers' parsing: SQS messages carrying S3 notifications, and schedules."""
