"""Issue #24 item 2: ingest hands the watch's terms and own handles to the classifier,
which reads them as a placeholder (see tests/unit/test_watch_names.py)."""

from __future__ import annotations

from app.core.channels import parse_spec
from app.db.session import unit_of_work
from app.db.tables import Watch
from app.services import watches as watch_service
from app.services.ingest import ingest_batch
from tests.builders import raw_post
from tests.fakes.classifier import KeywordClassifier


def test_ingest_passes_the_watch_terms_and_handles(session_factory, clock) -> None:
    with unit_of_work(session_factory) as s:
        w = watch_service.create(
            s,
            watch_service.WatchSpec(
                "Kestrel Rail", ["kestrel rail", "kestrelrail"], ["@KestrelRail"]
            ),
            clock.now(),
            check_channel=parse_spec,
        )
        watch_id = w.id
    clf = KeywordClassifier()
    with unit_of_work(session_factory) as s:
        ingest_batch(
            s,
            watch=s.get(Watch, watch_id),
            raw_posts=[raw_post("1", "Kestrel Rail timetable is out", clock.now())],
            classifier=clf,
            now=clock.now(),
        )
    terms, handles = clf.last_names
    assert set(terms) == {"kestrel rail", "kestrelrail"}
    assert [h.lstrip("@").lower() for h in handles] == ["kestrelrail"]
