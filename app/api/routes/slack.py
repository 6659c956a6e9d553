"""/slack/interactions: the alert buttons in Slack (acknowledge, snooze 1 h, resolve)."""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, HTTPException, Request
from slack_sdk.signature import SignatureVerifier

from app.api.deps import RuntimeDep
from app.core.lifecycle import CommandInvalid, TransitionRefused
from app.db.session import unit_of_work
from app.services import alerts as alert_service

router = APIRouter(tags=["slack"])
log = logging.getLogger(__name__)
SNOOZE_FROM_SLACK = timedelta(hours=1)
ACTIONS = {"alert_acknowledge": "acknowledge", "alert_snooze": "snooze", "alert_resolve": "resolve"}


def _who(payload: dict[str, Any]) -> str:
    user = payload.get("user") or {}
    name = user.get("username") or user.get("name") or user.get("id") or "slack user"
    return f"{name} (Slack)"


@router.post("/slack/interactions", include_in_schema=False)
async def interactions(request: Request, runtime: RuntimeDep) -> dict[str, Any]:
    """Verify Slack's request signature, then run the button's command."""
    secret = runtime.settings.slack_signing_secret
    if secret is None:
        raise HTTPException(status_code=404, detail="Slack interactions are not configured")
    body = await request.body()
    verifier = SignatureVerifier(signing_secret=secret.get_secret_value())
    if not verifier.is_valid_request(body, dict(request.headers)):
        raise HTTPException(status_code=401, detail="invalid Slack signature")
    try:
        payload = json.loads(parse_qs(body.decode("utf-8"))["payload"][0])
        action = payload["actions"][0]
        action_id, alert_id = action["action_id"], action["value"]
    except (KeyError, IndexError, ValueError) as exc:
        raise HTTPException(status_code=400, detail="not a block_actions payload") from exc
    by, now, slack = _who(payload), runtime.clock.now(), runtime.slack_target
    if action_id not in ACTIONS:
        raise HTTPException(status_code=400, detail=f"unknown action {action_id}")
    try:
        with unit_of_work(runtime.session_factory) as session:
            alert_service.run_command(
                session,
                command=ACTIONS[action_id],
                alert_id=alert_id,
                by=by,
                now=now,
                slack=slack,
                until=now + SNOOZE_FROM_SLACK,
            )
    except (TransitionRefused, CommandInvalid, alert_service.AlertNotFound) as exc:
        log.info("Slack action %s on %s refused: %s", action_id, alert_id, exc)
        return {"response_type": "ephemeral", "text": f"Not done: {exc}"}
    runtime.kick_delivery()
    return {}
