"""/api/v1/watches: what to listen for."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from app.api.deps import ApiKeyDep, RuntimeDep, UowDep
from app.api.errors import NotFound
from app.api.pagination import (
    ID_CURSOR,
    CursorParam,
    LimitParam,
    decode_cursor,
    encode_cursor,
)
from app.api.schemas import (
    ChannelHealth,
    Page,
    WatchCreate,
    WatchRead,
    WatchUpdate,
    error_responses,
)
from app.core.channels import masked_spec, redact
from app.db.repos import watches as watches_repo
from app.db.session import unit_of_work
from app.db.tables import Watch
from app.services import watches as watch_service

router = APIRouter(
    prefix="/api/v1/watches", tags=["watches"], responses=error_responses(401, 404, 413, 422)
)


def to_read(w: Watch) -> WatchRead:
    return WatchRead(
        id=w.id,
        name=w.name,
        terms=w.terms,
        own_handles=w.own_handles,
        sensitivity=w.sensitivity,
        slack_channel=w.slack_channel,
        channels=[masked_spec(c) for c in w.channels],
        topic=w.topic,
        page_min_severity=w.page_min_severity,
        quiet_slack_channel=w.quiet_slack_channel,
        created_at=w.created_at,
        updated_at=w.updated_at,
    )


def load(session: UowDep, watch_id: str) -> Watch:
    watch = watches_repo.get(session, watch_id)
    if watch is None:
        raise NotFound("watch", watch_id)
    return watch


@router.post("", status_code=status.HTTP_201_CREATED, response_model=WatchRead)
def create_watch(
    body: WatchCreate, session: UowDep, runtime: RuntimeDep, _: ApiKeyDep
) -> WatchRead:
    """Create a watch: terms and the organisation's own handles to listen for."""
    fields = body.model_dump()
    fields["sensitivity"] = fields["sensitivity"] or runtime.settings.default_sensitivity
    spec = watch_service.WatchSpec(**fields)
    watch = watch_service.create(
        session, spec, runtime.clock.now(), check_channel=runtime.connectors.check
    )
    return to_read(watch)


@router.get("", response_model=Page[WatchRead])
def list_watches(
    session: UowDep, _: ApiKeyDep, limit: LimitParam = 50, cursor: CursorParam = None
) -> Page[WatchRead]:
    """All watches, a page at a time."""
    rows = watches_repo.page(session, after=decode_cursor(cursor, ID_CURSOR), limit=limit + 1)
    nxt = encode_cursor(rows[limit - 1].id) if len(rows) > limit else None
    return Page[WatchRead](items=[to_read(w) for w in rows[:limit]], next_cursor=nxt)


@router.get("/{watch_id}", response_model=WatchRead)
def get_watch(watch_id: str, session: UowDep, _: ApiKeyDep) -> WatchRead:
    return to_read(load(session, watch_id))


@router.patch("/{watch_id}", response_model=WatchRead)
def update_watch(
    watch_id: str, body: WatchUpdate, session: UowDep, runtime: RuntimeDep, _: ApiKeyDep
) -> WatchRead:
    """Change some fields of a watch; fields left out stay as they are. A channel sent
    back as shown (password as ***) keeps the stored one, password included."""
    changes = body.model_dump(exclude_unset=True)
    watch = load(session, watch_id)
    if changes.get("channels"):
        stored = {masked_spec(c): c for c in watch.channels}
        changes["channels"] = [stored.get(c, c) for c in changes["channels"]]
    watch = watch_service.update(
        session,
        watch,
        changes,
        runtime.clock.now(),
        check_channel=runtime.connectors.check,
    )
    return to_read(watch)


@router.delete("/{watch_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_watch(watch_id: str, runtime: RuntimeDep, key: ApiKeyDep) -> Response:
    """Delete a watch with its posts and alerts. Its unresolved alerts are resolved
    first (reason `watch_deleted`), and Slack and webhook subscribers are told."""
    with unit_of_work(runtime.session_factory) as session:
        watch_service.delete(
            session,
            load(session, watch_id),
            by=key,
            now=runtime.clock.now(),
            slack=runtime.slack_target,
        )
    runtime.kick_delivery()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{watch_id}/channels", response_model=list[ChannelHealth])
def channel_health(watch_id: str, session: UowDep, _: ApiKeyDep) -> list[ChannelHealth]:
    """The watch's polled channels: last poll time, failures in a row, last error.
    A channel not polled yet has no time; one that keeps failing shows why."""
    watch = load(session, watch_id)
    states = watches_repo.poll_states(session, watch.id)
    out = []
    for spec in watch.channels:
        state = states.get(spec)
        out.append(
            ChannelHealth(
                channel=masked_spec(spec),
                last_polled_at=state.last_polled_at if state else None,
                failures=state.failures if state else 0,
                last_error=redact(state.last_error, spec) if state and state.last_error else None,
            )
        )
    return out
