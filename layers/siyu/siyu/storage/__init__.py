"""Storage access: one module per table or bucket, nothing else talks to boto3 directly."""
