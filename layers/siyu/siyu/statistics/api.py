"""The visitors' API contract."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class VisitorCodeView(BaseModel):
    code_id: str
    first_seen: datetime
    last_seen: datetime
    tags: list[str]
    assigned: dict[str, str] = Field(description="pool (main or option id) -> target id")


class VisitorView(BaseModel):
    visitor_id: str
    codes: list[VisitorCodeView]
