"""In-memory fakes of the repositories, obeying the same conditions, for service tests."""
