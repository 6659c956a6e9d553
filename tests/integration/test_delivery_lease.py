"""Issue #24 item 8: a delivery run that outlives its lease does not send a row that
another run has taken since, and a run claims no more than fits in one lease.

Two delivery runs on a database whose transactions really commit (SQLite, and
PostgreSQL when GROUNDSWELL_TEST_POSTGRES_URL is set): the first run's peer is
slow (each send moves the clock on 7/12 of a lease: 70 s of the 2-minute lease
this test was written for, 8.75 s of today's 15 s one), and while it sends its
second row the second run starts and delivers what it can claim. (A lease that runs
out while its worker is stalled is taken over without a second send by the first
worker: tests/integration/test_delivery_order.py.)"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from app.clock import FrozenClock
from app.core.channels import parse_spec
from app.db.repos import outbox as outbox_repo
from app.db.session import unit_of_work
from app.db.tables import OutboxMessage
from app.services import subscriptions as sub_service
from app.services import watches as watch_service
from app.services.delivery import LEASE, drain_outbox


class Peer:
    """A webhook peer (the WebhookPort) that records each send in a shared list;
    `on_send` runs during the send (the clock moving, another run starting)."""

    def __init__(self, name: str, log: list[tuple[str, str]]) -> None:
        self.name = name
        self.log = log
        self.on_send: Callable[[int], None] | None = None
        self.calls = 0

    def send(self, url: str, secret: str, msg_id: str, timestamp: datetime, body: bytes) -> None:
        self.calls += 1
        self.log.append((self.name, msg_id))
        if self.on_send is not None:
            self.on_send(self.calls)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime.now(UTC).replace(microsecond=0))


def _queue(factory, clock, n: int) -> list[str]:
    """`n` alert.opened webhook rows for one subscription, oldest first (an outbox row
    needs no alert row: it outlives its alert)."""
    with unit_of_work(factory) as s:
        spec = watch_service.WatchSpec("Metro Police", ["metro police"], [])
        watch_service.create(s, spec, clock.now(), check_channel=parse_spec)
        sub = sub_service.create(
            s,
            url="http://127.0.0.1:9/x",
            events=["alert.opened"],
            now=clock.now(),
            allow_private=True,
        )
        ids = []
        for i in range(n):
            msg = outbox_repo.enqueue(
                s,
                alert_id=f"alr_{i}",
                target="webhook",
                event_type="alert.opened",
                payload={"type": "alert.opened", "data": {"id": f"alr_{i}"}},
                now=clock.now() + timedelta(microseconds=i),
                subscription_id=sub.id,
            )
            ids.append(msg.id)
    clock.advance(timedelta(seconds=1))
    return ids


def test_two_delivery_runs_with_an_expired_lease_do_not_both_send(live_factory, clock):
    factory = live_factory
    ids = _queue(factory, clock, 3)
    sent: list[tuple[str, str]] = []
    slow, fast = Peer("first", sent), Peer("second", sent)
    second_run = {}

    def slow_send(call: int) -> None:
        clock.advance(LEASE * 7 / 12)
        if call == 2:
            second_run["result"] = drain_outbox(factory, clock=clock, slack=None, webhooks=fast)

    slow.on_send = slow_send
    drain_outbox(factory, clock=clock, slack=None, webhooks=slow)

    assert sorted(m for _, m in sent) == sorted(ids), sent  # each row sent exactly once
    assert second_run["result"].sent >= 1  # the second run did take over what had expired
    with unit_of_work(factory) as s:
        states = s.scalars(select(OutboxMessage.state)).all()
    assert sorted(states) == ["sent"] * 3


def test_a_run_claims_no_more_than_fits_in_one_lease_and_still_sends_all(live_factory, clock):
    factory = live_factory
    ids = _queue(factory, clock, 30)
    sent: list[tuple[str, str]] = []
    peer = Peer("only", sent)
    leased_at_first_send = []

    def count_leased(call: int) -> None:
        if call == 1:
            with unit_of_work(factory) as s:
                stmt = select(func.count()).where(
                    OutboxMessage.state == "pending", OutboxMessage.locked_until.is_not(None)
                )
                leased_at_first_send.append(s.scalar(stmt))

    peer.on_send = count_leased
    result = drain_outbox(factory, clock=clock, slack=None, webhooks=peer)
    per_call = timedelta(seconds=10)  # the Slack and webhook clients' timeout per call
    assert leased_at_first_send[0] <= LEASE / per_call, leased_at_first_send
    assert result.sent == 30 and sorted(m for _, m in sent) == sorted(ids)
