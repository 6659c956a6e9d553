"""A cap on request bodies: 413 with a reason before anything parses them.

The largest valid request is a batch of 1,000 posts of up to 10,000 characters
each, i.e. at most ~10 MB of UTF-8 plus JSON; the cap leaves room for escaping.
Declared lengths are refused from the header; bodies without one (chunked) are
counted as they stream and refused once they pass the cap.  Pure ASGI, so the
body is never buffered twice.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.exceptions import HTTPException

MAX_BODY_BYTES = 32 * 1024 * 1024

Scope = dict[str, Any]
Message = dict[str, Any]


class BodyTooLarge(HTTPException):
    """Raised from `receive`: FastAPI passes HTTPExceptions from body reading through
    (anything else there becomes a 400 'error parsing the body')."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, f"body: is larger than {max_bytes} bytes")


class BodyLimit:
    def __init__(self, app: Any, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(send)
            return
        seen = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await self._refuse(send)

    async def _refuse(self, send: Any) -> None:
        reason = f"is larger than {self.max_bytes} bytes"
        body = json.dumps(
            {"detail": f"body: {reason}", "errors": [{"field": "body", "reason": reason}]}
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
