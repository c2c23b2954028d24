"""view_of: a view built from a record's attributes and the values given for the rest."""

from dataclasses import dataclass

import pytest
from pydantic import BaseModel

from siyu.api.types import view_of


@dataclass(frozen=True)
class Record:
    id: str
    name: str
    secret: str
    stored_as: str


class View(BaseModel):
    id: str
    name: str
    shown_as: str


def test_a_view_takes_its_fields_from_the_record_and_the_values_given():
    view = view_of(View, Record("r1", "first", "s3cret", "x"), shown_as="y", name="renamed")
    assert view == View(id="r1", name="renamed", shown_as="y")


def test_a_field_the_record_lacks_must_be_given():
    with pytest.raises(AttributeError):
        view_of(View, Record("r1", "first", "s3cret", "x"))


def test_a_value_for_no_field_of_the_view_is_refused():
    with pytest.raises(TypeError, match="View has no field shwon_as"):
        view_of(View, Record("r1", "first", "s3cret", "x"), shwon_as="y")
