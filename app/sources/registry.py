"""Channel spec (as stored on a watch) → connector; and whether a spec may be polled."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from app.core.channels import UnknownChannel, parse_spec
from app.core.ports import SourceConnector
from app.sources.bluesky import BlueskySearchConnector, BlueskySession
from app.sources.feed import FeedConnector
from app.sources.jsonl import JsonlConnector, confine
from app.sources.mastodon import MastodonConnector, parse_target
from app.sources.rategate import RateGate

if TYPE_CHECKING:
    from app.settings import Settings

BLUESKY_SETTINGS = "GROUNDSWELL_BLUESKY_HANDLE and GROUNDSWELL_BLUESKY_APP_PASSWORD"


class ConnectorRegistry:
    """`file_root`: the only directory `file:` channels may read; None turns them off.
    `mastodon_token` is sent only to `mastodon_token_host` (host[:port] of the instance
    that issued it). `bluesky`: the one app-password session of `bluesky:search`
    channels (None turns them off). One RateGate per network: every channel on a host
    waits out that host's rate limit together."""

    def __init__(
        self,
        *,
        allow_private: bool,
        file_root: Path | None = None,
        mastodon_token: str | None = None,
        mastodon_token_host: str | None = None,
        bluesky: BlueskySession | None = None,
    ) -> None:
        self._allow_private = allow_private
        self._file_root = file_root
        self._mastodon_token = mastodon_token
        self._mastodon_token_host = (mastodon_token_host or "").lower() or None
        self._mastodon_gate = RateGate()
        self._bluesky = bluesky
        self._bluesky_gate = RateGate()

    def check(self, spec: str) -> None:
        """Refuse (UnknownChannel, naming the channel and why) a spec that cannot be
        polled here: an unknown kind, a feed that is not http(s), a file outside the
        file channel directory, a Mastodon URL that names no tag or account, Bluesky
        search without an account. The
        connector checks the file again on every read."""
        kind, target = parse_spec(spec)
        if kind == "file":
            confine(target, self._file_root)
        elif kind == "mastodon":
            parse_target(target)
        elif kind == "bluesky" and self._bluesky is None:
            raise UnknownChannel(f"channel {spec!r}: Bluesky search needs {BLUESKY_SETTINGS}")

    def connector(self, spec: str) -> SourceConnector:
        kind, target = parse_spec(spec)
        if kind == "rss":
            return FeedConnector(target, allow_private=self._allow_private)
        if kind == "mastodon":
            host = parse_target(target).host.lower()
            token = self._mastodon_token if host == self._mastodon_token_host else None
            return MastodonConnector(
                target, allow_private=self._allow_private, token=token, gate=self._mastodon_gate
            )
        if kind == "bluesky":
            return BlueskySearchConnector(
                self._bluesky, gate=self._bluesky_gate, missing=BLUESKY_SETTINGS
            )
        return JsonlConnector(target, root=self._file_root)


def bluesky_session(settings: Settings) -> BlueskySession | None:
    """The Bluesky login from the settings, or None when the handle or password is unset."""
    if not settings.bluesky_handle or settings.bluesky_app_password is None:
        return None
    return BlueskySession(
        settings.bluesky_api_url,
        settings.bluesky_handle.strip(),
        settings.bluesky_app_password.get_secret_value(),
    )
