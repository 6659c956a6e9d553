"""GET /api/v1/watches/{id}/timeline and GET /api/v1/alerts/{id}/chart.png (issues #21,
#20) on a real database: the buckets and alerts stored come back, the replayed expected
band follows the history, bad ranges are a 422 naming the parameter, the chart is a PNG."""

from __future__ import annotations

import io
import struct
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from app.core.buckets import BUCKET, bucket_start
from app.db.session import unit_of_work
from app.db.tables import VolumeBucket
from tests.builders import an_open_alert
from tests.integration.test_api import AUTH, _client, _watch


@pytest.fixture
def client(session_factory, clock, db_engine):
    with _client(session_factory, clock, db_engine) as c:
        yield c


def _buckets(session_factory, watch_id: str, rows: dict[datetime, tuple[int, int, int, int]]):
    with unit_of_work(session_factory) as s:
        for at, (total, neg, pos, par) in rows.items():
            s.add(
                VolumeBucket(
                    watch_id=watch_id,
                    bucket_start=at,
                    total=total,
                    negative=neg,
                    positive=pos,
                    parody=par,
                )
            )


def _alert(session_factory, alert_id, watch_id, opened, resolved=None, kind="negative_surge"):
    with unit_of_work(session_factory) as s:
        a = an_open_alert(alert_id, watch_id, opened)
        a.kind = kind
        if resolved is not None:
            a.state, a.resolved_at, a.updated_at = "resolved", resolved, resolved
        s.add(a)


def _steady(
    end: datetime, hours: float, per_bucket: int
) -> dict[datetime, tuple[int, int, int, int]]:
    n = int(hours * 12)
    return {end - (n - i) * BUCKET: (per_bucket, 0, per_bucket // 2, 0) for i in range(n)}


def test_timeline_returns_stored_buckets_and_alerts(client, clock, session_factory):
    w = _watch(client)
    now = clock.now()
    b1 = bucket_start(now) - 10 * BUCKET
    b2 = bucket_start(now) - 50 * BUCKET
    _buckets(session_factory, w["id"], {b1: (17, 9, 3, 2), b2: (4, 1, 2, 0)})
    _alert(session_factory, "a-open", w["id"], b1)
    _alert(session_factory, "a-closed", w["id"], b2, resolved=b2 + 6 * BUCKET, kind="parody_surge")
    _alert(session_factory, "a-old", w["id"], now - timedelta(days=5), now - timedelta(days=4))

    r = client.get(f"/api/v1/watches/{w['id']}/timeline", headers=AUTH)
    assert r.status_code == 200, r.text
    body = r.json()
    # default: the last 48 hours, every bucket (zeros included), oldest first
    assert body["bucket_minutes"] == 5
    assert len(body["buckets"]) in (576, 577)  # 48 h, plus the open bucket when now is mid-bucket
    starts = [datetime.fromisoformat(b["start"]) for b in body["buckets"]]
    assert starts == sorted(starts) and all(
        b - a == BUCKET for a, b in zip(starts, starts[1:], strict=False)
    )
    by_start = dict(zip(starts, body["buckets"], strict=True))
    got = by_start[b1]
    assert (got["total"], got["negative"], got["positive"], got["parody"]) == (17, 9, 3, 2)
    assert by_start[b2]["total"] == 4
    assert sum(b["total"] for b in body["buckets"]) == 21
    alerts = {a["id"]: a for a in body["alerts"]}
    assert set(alerts) == {"a-open", "a-closed"}  # a-old closed before the range
    assert alerts["a-open"]["closed_at"] is None and alerts["a-open"]["kind"] == "negative_surge"
    assert alerts["a-closed"]["kind"] == "parody_surge"
    assert datetime.fromisoformat(alerts["a-closed"]["closed_at"]) == b2 + 6 * BUCKET
    assert alerts["a-closed"]["severity"] == "warning"

    # an explicit range that leaves both alerts and b1 out
    until = (b2 - BUCKET).isoformat()
    r = client.get(f"/api/v1/watches/{w['id']}/timeline", params={"until": until}, headers=AUTH)
    assert r.status_code == 200, r.text
    assert r.json()["alerts"] == [] and sum(b["total"] for b in r.json()["buckets"]) == 0


def test_expected_band_rises_with_history(client, clock, session_factory):
    w = _watch(client)
    end = bucket_start(clock.now())
    rows = _steady(end - timedelta(hours=24), 72, 2)  # three quiet days at 2 posts / bucket
    rows.update(_steady(end, 24, 8))  # then a day at 8
    _buckets(session_factory, w["id"], rows)
    r = client.get(
        f"/api/v1/watches/{w['id']}/timeline",
        params={"since": (end - timedelta(hours=30)).isoformat(), "until": end.isoformat()},
        headers=AUTH,
    )
    assert r.status_code == 200, r.text
    bs = r.json()["buckets"]
    assert len(bs) == 360
    quiet, busy = bs[:72], bs[-12:]  # the last 6 quiet hours, the last busy hour
    assert all(b["expected"] is not None for b in bs)
    assert all(1.0 < b["expected"] < 3.5 for b in quiet)
    # the level learns with a one-day half-life and clipped steps: it climbs all day
    assert min(b["expected"] for b in busy) > 1.8 * max(b["expected"] for b in quiet)
    day = [b["expected"] for b in bs[72:]]
    assert day[-1] > day[len(day) // 2] > day[0]
    assert all(b["upper"] > b["expected"] for b in bs)
    # the band's alarm line is above what the quiet days actually did
    assert all(b["upper"] > b["total"] for b in quiet)


def test_expected_is_null_before_the_watch_has_data(client, clock, session_factory):
    w = _watch(client)
    end = bucket_start(clock.now())
    _buckets(session_factory, w["id"], _steady(end, 2, 3))
    # the watch was created now: nothing before its first stored bucket
    r = client.get(
        f"/api/v1/watches/{w['id']}/timeline", params={"until": end.isoformat()}, headers=AUTH
    )
    bs = r.json()["buckets"]
    assert all(b["expected"] is None for b in bs[:-24])
    assert bs[-24]["expected"] is None and all(b["expected"] is not None for b in bs[-23:])


def test_bad_ranges_unknown_watch_and_auth(client, clock):
    w = _watch(client)
    url = f"/api/v1/watches/{w['id']}/timeline"
    now = clock.now()

    def field(params):
        r = client.get(url, params=params, headers=AUTH)
        assert r.status_code == 422, r.text
        return r.json()["errors"][0]["field"]

    assert (
        field({"since": now.isoformat(), "until": (now - timedelta(hours=1)).isoformat()})
        == "since"
    )
    assert field({"since": (now - timedelta(days=15)).isoformat()}) == "since"
    assert field({"until": (now + timedelta(days=1)).isoformat()}) == "until"
    assert field({"since": "0001-01-01T00:00:00+01:00"}) == "since"
    assert field({"until": "not-a-time"}) == "query.until"  # FastAPI's own parse error
    ok = client.get(
        url,
        params={"since": (now - timedelta(days=14)).isoformat(), "until": now.isoformat()},
        headers=AUTH,
    )
    assert ok.status_code == 200 and len(ok.json()["buckets"]) in (4032, 4033)
    assert client.get("/api/v1/watches/nope/timeline", headers=AUTH).status_code == 404
    assert client.get(url).status_code == 401
    assert client.get(url, headers={"Authorization": "Bearer wrong"}).status_code == 401


def test_alert_chart_is_a_png(client, clock, session_factory):
    w = _watch(client)
    end = bucket_start(clock.now())
    rows = _steady(end, 48, 3)
    spike = end - 20 * BUCKET
    for i in range(4):
        rows[spike + i * BUCKET] = (40, 30, 2, 1)
    _buckets(session_factory, w["id"], rows)
    _alert(session_factory, "a-chart", w["id"], spike)

    r = client.get("/api/v1/alerts/a-chart/chart.png", headers=AUTH)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "image/png"
    png = r.content
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and png[12:16] == b"IHDR"
    width, height = struct.unpack(">II", png[16:24])
    assert (width, height) == (1000, 420)
    import matplotlib.image

    pixels = matplotlib.image.imread(io.BytesIO(png), format="png")
    assert pixels.shape[:2] == (420, 1000) and pixels.std() > 0.01  # decodes, not blank

    assert client.get("/api/v1/alerts/nope/chart.png", headers=AUTH).status_code == 404
    assert client.get("/api/v1/alerts/a-chart/chart.png").status_code == 401


def test_importing_the_app_does_not_import_matplotlib():
    code = "import sys, app.web, app.api.routes.timeline; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_naive_query_times_are_utc(client, clock, session_factory):
    w = _watch(client)
    at = bucket_start(clock.now()) - 3 * BUCKET
    _buckets(session_factory, w["id"], {at: (5, 0, 0, 0)})
    naive = at.astimezone(UTC).replace(tzinfo=None)
    r = client.get(
        f"/api/v1/watches/{w['id']}/timeline",
        params={"since": naive.isoformat(), "until": (naive + BUCKET).isoformat()},
        headers=AUTH,
    )
    assert r.status_code == 200, r.text
    assert [b["total"] for b in r.json()["buckets"]] == [5]
