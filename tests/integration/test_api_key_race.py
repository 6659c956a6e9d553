"""Several instances starting at once with the same bootstrap key: each one that found
no row inserts it, and the one that loses the race must not fail on the unique hash
(a plain INSERT raised IntegrityError there and stopped that instance's start)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select

from app.db.repos import api_keys
from app.db.tables import ApiKey

KEY = "bootstrap-key-for-the-race-0001"


def test_two_instances_storing_the_same_bootstrap_key_both_succeed(live_factory):
    now = datetime(2026, 12, 4, tzinfo=UTC)
    first, second = live_factory(), live_factory()
    try:
        api_keys.store(first, KEY, "bootstrap", now)
        first.commit()
        api_keys.store(second, KEY, "bootstrap", now)  # it had looked before `first` committed
        second.commit()
        assert second.scalar(select(func.count()).select_from(ApiKey)) == 1
        assert api_keys.is_valid(second, KEY)
    finally:
        first.close()
        second.close()
