"""/docs and /redoc work without internet access: every script, stylesheet and icon
they reference is served by the service itself."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from tests.integration.test_api import _client


class _Refs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.refs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("src", "href") and value:
                self.refs.append(value)


def _assets(html: str) -> list[str]:
    parser = _Refs()
    parser.feed(html)
    return parser.refs


@pytest.fixture
def client(session_factory, clock, db_engine):
    with _client(session_factory, clock, db_engine) as c:
        yield c


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_reference_only_local_assets_and_they_are_served(client, page):
    r = client.get(page)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    refs = _assets(r.text)
    assert any(ref.endswith(".js") for ref in refs), refs
    for ref in refs:
        assert ref.startswith("/") and not ref.startswith("//"), f"{page} loads {ref}"
        asset = client.get(ref)
        assert asset.status_code == 200, ref
        assert len(asset.content) > 1000, ref
    # the scripts the page builds its UI from also point at this service only
    assert "cdn." not in r.text and "https://" not in r.text.replace("https://github.com", "")
    if page == "/docs":
        assert "url: '/openapi.json'" in r.text
        assert client.get("/openapi.json").status_code == 200
