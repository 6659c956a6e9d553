"""Opaque page cursors and the limit parameter.

A cursor is base64 of a JSON value; each list says which shape it expects (an id,
a post id, an (opened_at, id) pair) and `decode_cursor` refuses anything else with
the same 422, so a tampered or foreign cursor never reaches a query."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

from fastapi import Query
from pydantic import AfterValidator, AwareDatetime, Field, StrictInt, StrictStr, TypeAdapter

from app.api.errors import InvalidParam

LimitParam = Annotated[int, Query(ge=1, le=500, description="Items per page")]
CursorParam = Annotated[str | None, Query(description="next_cursor of the previous page")]
NOT_A_CURSOR = "not a cursor from this API"

T = TypeVar("T")


def _in_utc(value: datetime) -> datetime:
    try:
        return value.astimezone(UTC)
    except OverflowError as exc:  # 0001-01-01T00:00:00+05:00 is before year 1 in UTC
        raise ValueError("out of range") from exc


_RowId = Annotated[StrictStr, Field(min_length=1, max_length=40, pattern=r"^[^\x00]+$")]
_UtcTime = Annotated[AwareDatetime, AfterValidator(_in_utc)]

ID_CURSOR: TypeAdapter[str] = TypeAdapter(_RowId)
"""The last id of the page (watches, subscriptions: ascending string ids)."""
POST_CURSOR: TypeAdapter[int] = TypeAdapter(Annotated[StrictInt, Field(ge=0, lt=2**63)])
"""The last post id of the page (newest first)."""
TIME_ID_CURSOR: TypeAdapter[tuple[datetime, str]] = TypeAdapter(tuple[_UtcTime, _RowId])
"""(opened_at, id) of the last alert of the page (newest first)."""


def encode_cursor(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None, shape: TypeAdapter[T]) -> T | None:
    """The value of a cursor made by `encode_cursor`, checked against `shape`."""
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        return shape.validate_json(base64.urlsafe_b64decode(padded.encode()), strict=True)
    except ValueError as exc:  # binascii.Error, UnicodeError and ValidationError are ValueErrors
        raise InvalidParam("cursor", NOT_A_CURSOR) from exc
