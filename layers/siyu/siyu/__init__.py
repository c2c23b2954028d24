"""siyu: the shared package every siyu Lambda function imports (the SAM layer)."""
