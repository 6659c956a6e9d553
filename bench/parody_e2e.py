"""Parody waves end to end: every organisation of the varied set as a watch, through
the REST API, with the shipped model; post-level recall/precision read back with
`?label=parody`, and whether each watch got a parody_surge naming the own post.

    python bench/parody_e2e.py [--days 14] [--per-bucket 2] [--wave-minutes 30]

Per organisation (bench/parody_cases): a watch with its terms and handle; its own
posts pushed by its handle two days before the wave; `--days` of ordinary traffic
(its ordinary posts, its plain complaints and the shared everyday traffic, drawn at
random, `--per-bucket` a 5-minute bucket); a detection pass; then the wave: all its
parody posts and its sincere quotes, by other accounts, spread over the last
`--wave-minutes`, pushed through POST /api/v1/watches/{id}/posts; one more detection
pass.  Ordinary traffic re-uses the set's texts (with a counter, so they are not
duplicates) and is labelled by the same model, so the share baseline sees the
irony-route flags it would see.  SQLite in a temporary directory.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from fastapi.testclient import TestClient  # noqa: E402
from parody_set import EVERYDAY, load_cases, load_orgs  # noqa: E402

from app.clock import FrozenClock  # noqa: E402
from app.core.buckets import bucket_start  # noqa: E402
from app.db.migrate import upgrade_head  # noqa: E402
from app.db.session import make_engine, make_session_factory  # noqa: E402
from app.jobs.tasks import detect_watches  # noqa: E402
from app.ml.artifacts import load_classifier  # noqa: E402
from app.runtime import Runtime  # noqa: E402
from app.settings import Settings  # noqa: E402
from app.web import create_app  # noqa: E402

KEY = "bench-key-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {KEY}"}


class _NoWebhooks:
    def send(self, *args: object, **kwargs: object) -> None:
        raise AssertionError("no deliveries in this bench")


def _post(ext: str, text: str, at: datetime, handle: str, url: str | None = None) -> dict:
    body: dict[str, Any] = {
        "external_id": ext,
        "text": text,
        "created_at": at.isoformat(),
        "author": {"handle": handle, "followers": 100},
        "channel": "api",
    }
    if url:
        body["url"] = url
    return body


def _push(client: TestClient, wid: str, posts: list[dict]) -> None:
    for i in range(0, len(posts), 1000):
        r = client.post(
            f"/api/v1/watches/{wid}/posts", json={"posts": posts[i : i + 1000]}, headers=AUTH
        )
        if r.status_code != 200:
            raise SystemExit(f"push failed: {r.status_code} {r.text[:300]}")


def _flagged(client: TestClient, wid: str) -> set[str]:
    ids: set[str] = set()
    params: dict[str, Any] = {"label": "parody", "limit": 200}
    while True:
        page = client.get(f"/api/v1/watches/{wid}/posts", params=params, headers=AUTH).json()
        ids |= {p["external_id"] for p in page["items"]}
        if not page.get("next_cursor"):
            return ids
        params["cursor"] = page["next_cursor"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=int, default=14)
    ap.add_argument("--per-bucket", type=int, default=2)
    ap.add_argument("--wave-minutes", type=int, default=30)
    ap.add_argument("--seed", type=int, default=3)
    args = ap.parse_args()

    rng = random.Random(args.seed)
    orgs = load_orgs()
    cases = load_cases(orgs)
    tmp = tempfile.TemporaryDirectory()
    engine = make_engine(f"sqlite:///{Path(tmp.name) / 'bench.db'}")
    upgrade_head(engine)
    now = bucket_start(datetime.now(UTC)) + timedelta(minutes=2)
    clock = FrozenClock(now - timedelta(minutes=args.wave_minutes + 10))
    settings = Settings(
        database_url="sqlite://",
        bootstrap_api_key=KEY,
        scheduler_enabled=False,
        migrate_on_start=False,
    )  # type: ignore[call-arg]
    runtime = Runtime(
        settings, engine, make_session_factory(engine), clock, load_classifier(ROOT / "models"),
        None, _NoWebhooks(),
    )  # fmt: skip
    everyday = [c.text for c in cases if c.org == EVERYDAY]
    totals = Counter()
    print(f"{'organisation':20s} {'split':5s} {'recall':>14s} {'sincere':>8s} {'other*':>6s} "
          f"{'parody_surge':>12s}  own post named")  # fmt: skip
    with TestClient(create_app(runtime, manage_runtime=False)) as client:
        for org in orgs:
            clock.set(now - timedelta(minutes=args.wave_minutes + 10))
            body = {"name": org.name, "terms": list(org.terms), "own_handles": list(org.handles)}
            wid = client.post("/api/v1/watches", json=body, headers=AUTH).json()["id"]
            mine = [c for c in cases if c.org == org.id]
            plain = [c.text for c in mine if c.label in ("ordinary", "complaint")] + everyday
            start = clock.now() - timedelta(days=args.days)
            history, t, n = [], start, 0
            history_text: dict[str, str] = {}
            while t < clock.now() - timedelta(minutes=10):
                for _ in range(max(0, args.per_bucket + rng.choice((-1, 0, 0, 1)))):
                    n += 1
                    at = t + timedelta(seconds=rng.randrange(300))
                    text = f"{rng.choice(plain)} ({n})"
                    history.append(_post(f"h{n}", text, at, f"user{rng.randrange(3000)}"))
                    history_text[f"h{n}"] = text.rsplit(" (", 1)[0]
                t += timedelta(minutes=5)
            _push(client, wid, history)
            own_at = now - timedelta(days=2)
            _push(client, wid, [
                _post(pid, text, own_at + timedelta(minutes=i), org.handles[0],
                      f"https://social.example/{org.id}/{pid}")
                for i, (pid, text) in enumerate(org.own_posts)
            ])  # fmt: skip
            detect_watches(runtime, only_dirty=True)

            clock.set(now)
            wave = [c for c in mine if c.label in ("parody", "sincere")]
            rng.shuffle(wave)
            span = args.wave_minutes * 60
            posts = [
                _post(f"w{i}", c.text, now - timedelta(seconds=span * i // len(wave)), f"w{i}u")
                for i, c in enumerate(wave)
            ]
            _push(client, wid, posts)
            detect_watches(runtime, only_dirty=True)

            flagged = _flagged(client, wid)
            is_parody = {f"w{i}" for i, c in enumerate(wave) if c.label == "parody"}
            sincere = {f"w{i}" for i, c in enumerate(wave) if c.label == "sincere"}
            tp = len(flagged & is_parody)
            fp_sincere = len(flagged & sincere)
            others = flagged - is_parody - sincere
            fp_other = len({history_text[e] for e in others if e in history_text})
            alerts = client.get(
                "/api/v1/alerts", params={"watch_id": wid, "kind": "parody_surge"}, headers=AUTH
            ).json()["items"]
            most = Counter(c.of for c in wave if c.label == "parody").most_common(1)[0][0]
            own = alerts[0]["evidence"].get("own_post") if alerts else None
            named = own.get("external_id") if own else None
            totals.update(tp=tp, n=len(is_parody), fs=fp_sincere, ns=len(sincere), fo=fp_other,
                          surge=bool(alerts), named=named is not None,
                          right=named == most)  # fmt: skip
            print(f"{org.name[:20]:20s} {org.split:5s} {tp:4d}/{len(is_parody):3d} "
                  f"({tp / len(is_parody):.2f}) {fp_sincere:3d}/{len(sincere):3d} {fp_other:6d} "
                  f"{'yes' if alerts else 'NO':>12s}  {named} (most mocked: {most})")  # fmt: skip
    flagged_all = totals["tp"] + totals["fs"]
    print(f"\nwave: recall {totals['tp'] / totals['n']:.3f} ({totals['tp']}/{totals['n']})  "
          f"precision {totals['tp'] / max(1, flagged_all):.3f}  sincere flagged "
          f"{totals['fs']}/{totals['ns']}")  # fmt: skip
    print(
        f"*ordinary traffic: {totals['fo']} distinct texts flagged (each is drawn many times "
        "from the small pool of the set, so posts flagged would overstate it)"
    )
    print(f"parody_surge on {totals['surge']} of {len(orgs)} watches; naming an own post "
          f"{totals['named']}, the most mocked one {totals['right']}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
