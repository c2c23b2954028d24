"""Identifiers: one generator for the ids people see, one for job runs, one for ids derived from
what they name. Every id is lower-case letters and digits, so one pattern checks them all."""

from __future__ import annotations

import re
import secrets
import uuid

# No 0/o/1/l: ids get read aloud and typed.
ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"
ID_PATTERN = re.compile(r"^[a-z0-9]{4,32}$")


def new_id(length: int = 10) -> str:
    """A random id of `length` characters from ALPHABET (10 gives 2^50 possibilities)."""
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


def run_id() -> str:
    """A job run's id (lease owner): unique per run, never shown."""
    return uuid.uuid4().hex


def stable_id(identity: str, length: int = 16) -> str:
    """The same id for the same `identity` every time (e.g. one alert per event and code)."""
    return uuid.uuid5(uuid.NAMESPACE_URL, identity).hex[:length]


def is_id(value: object) -> bool:
    """Whether `value` has the shape of an id this service makes (old hex ids included)."""
    return isinstance(value, str) and ID_PATTERN.match(value) is not None
