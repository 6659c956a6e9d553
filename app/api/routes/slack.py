"""/slack/interactions: the alert buttons in Slack (acknowledge, resolve) and the snooze
menu (30 min, 2 h, 8 h, 24 h; a Snooze button on messages posted before the menu
snoozes for 1 h)."""

from __future__ import annotations

import json
import logging
import time
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, HTTPException, Request
from slack_sdk.signature import SignatureVerifier

from app.api.deps import RuntimeDep
from app.core.lifecycle import CommandInvalid, TransitionRefused
from app.core.normalise import NUL_REASON
from app.db.repos import slack_interactions
from app.db.session import unit_of_work
from app.notify.slack_blocks import ACTION_SNOOZE, SNOOZE_CHOICES, SNOOZE_SEPARATOR
from app.services import alerts as alert_service

router = APIRouter(tags=["slack"])
log = logging.getLogger(__name__)
SNOOZE_FROM_SLACK = timedelta(hours=1)  # the Snooze button of messages posted before the menu
REPLAYED = "replayed Slack request: already handled"
ACTIONS = {"alert_acknowledge": "acknowledge", "alert_snooze": "snooze", "alert_resolve": "resolve"}


def _who(payload: dict[str, Any]) -> str:
    user = payload.get("user") or {}
    if not isinstance(user, dict):
        raise HTTPException(status_code=400, detail="payload.user: must be an object")
    names = (user.get(k) for k in ("username", "name", "id"))
    # NUL dropped: PostgreSQL text cannot hold it, and a name does not need it.
    clean = (n.replace("\x00", "") for n in names if isinstance(n, str))
    name = next((n for n in clean if n), "slack user")
    return f"{name} (Slack)"


def _snooze_choice(action: dict[str, Any]) -> tuple[str, timedelta]:
    """(alert_id, how long) from the snooze menu's chosen option; 400 naming the field
    if it is not one of the menu's choices."""
    field = "payload.actions[0].selected_option.value"
    option = action.get("selected_option")
    value = option.get("value") if isinstance(option, dict) else None
    if not isinstance(value, str):
        raise HTTPException(status_code=400, detail=f"{field}: must be a string")
    alert_id, _, minutes = value.rpartition(SNOOZE_SEPARATOR)
    allowed = [str(m) for m, _ in SNOOZE_CHOICES]
    if not alert_id or minutes not in allowed:
        choices = ", ".join(allowed)
        raise HTTPException(
            status_code=400, detail=f"{field}: must be <alert id>|<minutes of {choices}>"
        )
    return alert_id, timedelta(minutes=int(minutes))


def _parse(body: bytes) -> tuple[str, str, str, timedelta]:
    """(action_id, alert_id, who, snooze length) of a block_actions payload; 400 with a
    reason if the signed body is not one."""
    try:
        payload = json.loads(parse_qs(body.decode("utf-8"))["payload"][0])
    except (KeyError, IndexError, ValueError) as exc:
        raise HTTPException(status_code=400, detail="not a block_actions payload") from exc
    if not isinstance(payload, dict):
        raise HTTPException(status_code=400, detail="payload: must be a JSON object")
    actions = payload.get("actions")
    if not isinstance(actions, list) or not actions or not isinstance(actions[0], dict):
        raise HTTPException(status_code=400, detail="payload.actions: must list an action object")
    action_id, alert_id = actions[0].get("action_id"), actions[0].get("value")
    snooze_for = SNOOZE_FROM_SLACK
    if action_id == ACTION_SNOOZE and "selected_option" in actions[0]:
        alert_id, snooze_for = _snooze_choice(actions[0])
    if not isinstance(action_id, str) or not isinstance(alert_id, str):
        raise HTTPException(
            status_code=400, detail="payload.actions[0]: action_id and value must be strings"
        )
    if "\x00" in alert_id:
        raise HTTPException(status_code=400, detail=f"payload.actions[0].value: {NUL_REASON}")
    return action_id, alert_id, _who(payload), snooze_for


@router.post("/slack/interactions", include_in_schema=False)
async def interactions(request: Request, runtime: RuntimeDep) -> dict[str, Any]:
    """Verify Slack's request signature, refuse a replay of one already handled (409),
    then run the button's command."""
    secret = runtime.settings.slack_signing_secret
    if secret is None:
        raise HTTPException(status_code=404, detail="Slack interactions are not configured")
    body = await request.body()
    verifier = SignatureVerifier(signing_secret=secret.get_secret_value())
    try:
        valid = verifier.is_valid_request(body, dict(request.headers))
    except ValueError:  # slack_sdk decodes the body as UTF-8 and int()s the timestamp
        valid = False
    if not valid:
        raise HTTPException(status_code=401, detail="invalid Slack signature")
    action_id, alert_id, by, snooze_for = _parse(body)
    now, slack = runtime.clock.now(), runtime.slack_target
    if action_id not in ACTIONS:
        raise HTTPException(status_code=400, detail=f"unknown action {action_id}")
    signature = request.headers.get("x-slack-signature", "")
    request_ts = int(request.headers.get("x-slack-request-timestamp", "0"))
    # Remembered in its own transaction, so a replay of a refused command is refused too.
    with unit_of_work(runtime.session_factory) as session:
        fresh = slack_interactions.first_sighting(session, signature, request_ts, int(time.time()))
    if not fresh:
        raise HTTPException(status_code=409, detail=REPLAYED)
    try:
        with unit_of_work(runtime.session_factory) as session:
            alert_service.run_command(
                session,
                command=ACTIONS[action_id],
                alert_id=alert_id,
                by=by,
                now=now,
                slack=slack,
                until=now + snooze_for,
            )
    except (TransitionRefused, CommandInvalid, alert_service.AlertNotFound) as exc:
        log.info("Slack action %s on %s refused: %s", action_id, alert_id, exc)
        return {"response_type": "ephemeral", "text": f"Not done: {exc}"}
    runtime.kick_delivery()
    return {}
