"""In-memory fakes of the repositories' interfaces (one module per feature)."""
