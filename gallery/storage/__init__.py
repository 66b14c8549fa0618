"""Where originals are kept: the local disk or an S3-compatible bucket, both behind Django's storage API."""
