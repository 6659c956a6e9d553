"""Opaque page cursors and the limit parameter."""

from __future__ import annotations

import base64
import json
from typing import Annotated, Any

from fastapi import HTTPException, Query

LimitParam = Annotated[int, Query(ge=1, le=500, description="Items per page")]
CursorParam = Annotated[str | None, Query(description="next_cursor of the previous page")]


def encode_cursor(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> Any:
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        return json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, json.JSONDecodeError) as exc:
        raise HTTPException(status_code=422, detail="cursor: not a cursor from this API") from exc
