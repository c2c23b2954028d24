"""Building blocks of the admin API's contract that every feature uses: instants, text, time zones,
the strict input base, the error body and the building of a view from a record (pydantic; never
imported by the scan path)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from enum import StrEnum
from importlib.resources import files
from typing import Annotated, Any, Literal, get_args, get_origin

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, model_validator
from pydantic.fields import FieldInfo

from siyu.delivery.addresses import runs_locally, url_refusal

CHINA_TIME = timezone(timedelta(hours=8))


INSTANT_YEARS = (2000, 2100)


def _calendar_day[Day: date](value: Day) -> Day:
    """Within INSTANT_YEARS (a date-time too): year 1 or 9999 would not survive conversion to UTC."""
    if not INSTANT_YEARS[0] <= value.year <= INSTANT_YEARS[1]:
        raise ValueError(f"must fall between the years {INSTANT_YEARS[0]} and {INSTANT_YEARS[1]}")
    return value


def _instant(value: datetime) -> datetime:
    """China time when no offset is given; within INSTANT_YEARS."""
    return _calendar_day(value if value.tzinfo else value.replace(tzinfo=CHINA_TIME))


# A day or a local date-time on a plan's calendar (no offset: the plan's time zone applies).
CalendarDay = Annotated[date, AfterValidator(_calendar_day), Field(description="YYYY-MM-DD, years 2000-2100.")]
LocalDateTime = Annotated[datetime, AfterValidator(_calendar_day)]

Instant = Annotated[
    datetime,
    AfterValidator(_instant),
    Field(
        description="ISO-8601; without an offset it is read as China time (UTC+08:00). Years 2000-2100 "
        "(a 422 otherwise: JSON Schema cannot bound a date-time)."
    ),
]

Text = Annotated[str, Field(min_length=1, max_length=200)]


def _receiver(url: str) -> str:
    """A URL siyu will call: refused at once when no send could ever reach it (delivery/addresses.py)."""
    refusal = url_refusal(url, runs_locally())
    if refusal:
        raise ValueError(f"this receiver URL cannot be used: {refusal}")
    return url


# A URL siyu sends to (webhooks, WeCom group robots). Beyond the pattern: https only (http only on a
# local stack), and no private, loopback, link-local or carrier-grade NAT address (422 saying which).
ReceiverUrl = Annotated[
    str,
    Field(
        pattern=r"^https?://[A-Za-z0-9][A-Za-z0-9.-]*(:[0-9]{1,5})?([/?#]\S*)?$",
        max_length=2000,
        description="The receiver's full https:// URL (a name or address on the public internet; "
        "a private, loopback or link-local address is refused with 422).",
    ),
    AfterValidator(_receiver),
]
LongText = Annotated[str, Field(min_length=1, max_length=1000)]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @model_validator(mode="before")
    @classmethod
    def _numbers_are_numbers(cls, data: Any) -> Any:
        """The contract's integers are JSON numbers: pydantic alone would take true as 1 and "7" as 7."""
        if isinstance(data, dict):
            for name, field in cls.model_fields.items():
                if name in data and _scalar_types(field.annotation) <= {int, float, type(None)}:
                    value = data[name]
                    for item in value if isinstance(value, list) else [value]:
                        if isinstance(item, bool | str):
                            raise ValueError(f"{name} is a number in the contract, not {json_type(item)}")
        return data


def json_type(value: object) -> str:
    return "true/false" if isinstance(value, bool) else "text"


def _scalar_types(annotation: Any) -> set[type]:
    """The classes a field's values may be, list items included (list[int] | None: {int, NoneType})."""
    if annotation is None or annotation is type(None):
        return {type(None)}
    if isinstance(annotation, type) and get_origin(annotation) is None:
        return {annotation}
    if get_origin(annotation) is Literal:
        return {type(arg) for arg in get_args(annotation)}
    found: set[type] = set()
    for arg in get_args(annotation):
        found |= _scalar_types(arg) if not isinstance(arg, FieldInfo) else set()
    return found or {object}


# The IANA zones the tzdata wheel ships (the layer's own copy, the same everywhere): the contract lists them.
TimeZoneName = StrEnum(  # type: ignore[misc]  # the members come from the tzdata wheel, not from a literal
    "TimeZoneName", [(name, name) for name in files("tzdata").joinpath("zones").read_text().split()]
)


def _known_zone(value: object) -> str:
    """A short 422 naming the value (the enum's own message would list every zone)."""
    if isinstance(value, TimeZoneName):
        return value
    if not isinstance(value, str) or value not in TimeZoneName.__members__:
        raise ValueError(f"{str(value)[:64]!r} is not an IANA time zone name, e.g. Asia/Shanghai")
    return value


TimeZone = Annotated[
    TimeZoneName,
    BeforeValidator(_known_zone),
    AfterValidator(str),
    PlainSerializer(str, return_type=str),
    Field(description="IANA time zone, e.g. Asia/Shanghai (the enum lists them)."),
]


class ImageUpload(_Input):
    image_base64: str = Field(description="The PNG or JPEG screenshot, base64 (a data: URI is accepted too).")


class ImageLink(BaseModel):
    url: str
    expires_in: int


class ErrorBody(BaseModel):
    """Every error answer of the admin API has this shape (API Gateway's own 401, 404, 413 and 429 too)."""

    message: str = Field(description="What went wrong and what to change, as a sentence a person can act on.")
    errors: list[str] | None = Field(None, description="Validation errors: one line per problem, field path first.")


def view_of[View: BaseModel](view: type[View], record: object, **values: Any) -> View:
    """The view of a record: each of the view's fields is the record's attribute of that name,
    unless given in values (what the record holds under another name, or works out)."""
    if unknown := values.keys() - view.model_fields.keys():
        raise TypeError(f"{view.__name__} has no field {', '.join(sorted(unknown))}")
    fields = {name: values[name] if name in values else getattr(record, name) for name in view.model_fields}
    return view.model_validate(fields)
