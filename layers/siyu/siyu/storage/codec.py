"""DynamoDB's typed attribute values, written and read in one place.

Every repository stores its records as native attributes (strings, numbers, booleans, lists and
maps): each field is its own attribute, so a condition or an update can name it. Records that are
one document the service reads and writes whole (a plan, a campaign) may keep that document in one
JSON string attribute; nothing else is stored as JSON.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from siyu.core.clock import to_precise_iso

Item = dict[str, Any]  # an item as the low-level client takes and returns it: {"name": {"S": "..."}}

CONDITION_FAILED = "ConditionalCheckFailedException"
TRANSACTION_CANCELED = "TransactionCanceledException"


def s(value: str) -> dict[str, str]:
    return {"S": value}


def n(value: int | float) -> dict[str, str]:
    return {"N": str(value)}


def attr(value: Any) -> dict[str, Any]:
    """The attribute value of a plain Python value (instants as precise ISO text)."""
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int | float):
        return n(value)
    if isinstance(value, datetime):
        return s(to_precise_iso(value))
    if isinstance(value, Mapping):
        return {"M": {k: attr(v) for k, v in value.items() if v is not None}}
    if isinstance(value, list | tuple):
        return {"L": [attr(v) for v in value]}
    if value is None:
        return {"NULL": True}
    return s(str(value))


def plain(value: Mapping[str, Any]) -> Any:
    """The plain Python value of one attribute value (numbers as int when whole)."""
    ((kind, raw),) = value.items()
    if kind == "N":
        number = float(raw)
        return int(number) if number.is_integer() and "." not in raw and "e" not in raw.lower() else number
    if kind == "M":
        return {k: plain(v) for k, v in raw.items()}
    if kind == "L":
        return [plain(v) for v in raw]
    if kind == "NULL":
        return None
    return raw  # S, BOOL


def plain_item(item: Item, skip: frozenset[str] = frozenset()) -> dict[str, Any]:
    """Every attribute of `item` but those in `skip`, as plain values."""
    return {name: plain(value) for name, value in item.items() if name not in skip}


def text(item: Item, name: str) -> str | None:
    """A string attribute, or None when the item has none by that name."""
    value = item.get(name)
    return value["S"] if value else None


def number(item: Item, name: str, default: int = 0) -> int:
    value = item.get(name)
    return int(value["N"]) if value else default


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def throttled(error: Exception) -> bool:
    """DynamoDB refused for throughput (one hot item, or the table's limit): not storage being down."""
    code = error_code(error) if isinstance(error, ClientError) else ""
    return code in ("ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded")


def condition_failed(error: ClientError) -> bool:
    """A conditional write (or a transaction with one) was refused: the state was not as expected."""
    return error_code(error) in (CONDITION_FAILED, TRANSACTION_CANCELED)


def cancellation_reasons(error: ClientError) -> list[str]:
    """For a canceled transaction: each write's reason code, in order ("None" where it was fine)."""
    return [str(r.get("Code", "None")) for r in error.response.get("CancellationReasons", [])]


def remove_clause(names: dict[str, str], attributes: Sequence[str], alias: str = "#old") -> str:
    """`` REMOVE #old0, #old1 …`` for an UpdateExpression (nothing when `attributes` is empty),
    adding each attribute's placeholder to `names`."""
    if not attributes:
        return ""
    names.update({f"{alias}{i}": attribute for i, attribute in enumerate(attributes)})
    return " REMOVE " + ", ".join(f"{alias}{i}" for i in range(len(attributes)))
