"""Instants as the table stores them: ISO-8601 in UTC with a trailing Z."""

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)


def to_iso(instant: datetime) -> str:
    return instant.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def to_precise_iso(instant: datetime) -> str:
    """Microseconds, for sort keys and due times: two writes in one second stay distinct and ordered."""
    return f"{instant.astimezone(UTC):%Y-%m-%dT%H:%M:%S.%fZ}"


def from_iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
