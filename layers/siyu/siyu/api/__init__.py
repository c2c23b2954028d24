"""The admin API contract's shared building blocks (pydantic: admin function only)."""
