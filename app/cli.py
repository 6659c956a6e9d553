"""Command line: `groundswell serve | migrate | create-api-key | detect-once | slack-test |
train | classify | check-model | teach`."""

from __future__ import annotations

import argparse
import gc
import json
import secrets
import socket
import sys
from collections.abc import Sequence
from datetime import UTC, datetime

import uvicorn
from pydantic import ValidationError

from app import logging as app_logging
from app.core.ports import DeliveryError
from app.db.repos import api_keys
from app.db.session import make_session_factory, unit_of_work
from app.jobs import tasks
from app.ml import commands as ml_commands
from app.notify.slack import SlackCallError, SlackNotifier
from app.runtime import build_runtime, open_database
from app.settings import ConfigError, Settings, check_environment, load_settings
from app.web import create_app


def _settings() -> Settings:
    """The settings, with logging set up; unknown GROUNDSWELL_* variables are logged
    (or, with GROUNDSWELL_STRICT_SETTINGS=true, refused: ConfigError, exit 2)."""
    try:
        settings = load_settings()
    except ValidationError as exc:
        for err in exc.errors():
            field = ".".join(str(p) for p in err["loc"]) or "settings"
            reason = err["msg"].removeprefix("Value error, ")
            print(f"groundswell: GROUNDSWELL_{field.upper()}: {reason}", file=sys.stderr)
        raise SystemExit(2) from None
    app_logging.configure(settings.log_level)
    check_environment(settings)
    return settings


def _port(value: str) -> int:
    try:
        port = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a port number") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port (1-65535)")
    return port


def _name(value: str) -> str:
    if not value.strip():
        raise argparse.ArgumentTypeError("must not be blank")
    return value.strip()


def _check_listen(host: str, port: int) -> None:
    """Fail before the scheduler starts if uvicorn could not bind (a race, but a rare one)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        family, kind, proto, _, addr = infos[0]
        with socket.socket(family, kind, proto) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(addr)
    except OSError as exc:
        print(
            f"groundswell: --host/--port: cannot listen on {host}:{port}: {exc.strerror or exc}",
            file=sys.stderr,
        )
        raise SystemExit(2) from None


def _serve(args: argparse.Namespace) -> int:
    settings = _settings()
    app_logging.configure(settings.log_level)
    _check_listen(args.host, args.port)
    runtime = build_runtime(settings)
    # What start-up built (the model's tables, the app) lives as long as the process:
    # frozen, the collector stops walking it on every full collection (~11 % of the
    # server's CPU under ingest, py-spy; bench/ingest.py).
    gc.collect()
    gc.freeze()
    uvicorn.run(
        create_app(runtime),
        host=args.host,
        port=args.port,
        workers=1,
        log_config=None,
        access_log=False,
    )
    return 0


def _migrate(_: argparse.Namespace) -> int:
    settings = _settings()
    app_logging.configure(settings.log_level)
    engine = open_database(settings, migrate=True)
    engine.dispose()
    print("database is at the newest schema")
    return 0


def _detect_once(_: argparse.Namespace) -> int:
    settings = _settings().model_copy(update={"scheduler_enabled": False})
    app_logging.configure(settings.log_level)
    runtime = build_runtime(settings)
    n = tasks.detect_watches(runtime, only_dirty=False)
    sent = tasks.deliver(runtime)
    runtime.stop()
    print(json.dumps({"watches": n, "sent": sent}))
    return 0


SLACK_TEST_TEXT = "Groundswell test message: the bot can post here (groundswell slack-test)."


def _slack_test(args: argparse.Namespace) -> int:
    """Post a test message; print Slack's answer as JSON. Exit 0 on ok, 1 otherwise."""
    settings = _settings()
    if settings.slack_bot_token is None:
        raise ConfigError("GROUNDSWELL_SLACK_BOT_TOKEN", "not set: slack-test needs the bot token")
    channel = args.channel or settings.slack_default_channel
    if not channel:
        raise ConfigError(
            "GROUNDSWELL_SLACK_DEFAULT_CHANNEL", "not set: give one or pass --channel"
        )
    slack = SlackNotifier(
        token=settings.slack_bot_token.get_secret_value(), base_url=settings.slack_api_url
    )
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": SLACK_TEST_TEXT}}]
    try:
        posted_to, ts = slack.post(channel, SLACK_TEST_TEXT, blocks)
    except DeliveryError as exc:
        code = exc.code if isinstance(exc, SlackCallError) else None
        print(json.dumps({"ok": False, "channel": channel, "error": code, "reason": exc.reason}))
        return 1
    print(json.dumps({"ok": True, "channel": posted_to, "ts": ts}))
    return 0


def _create_api_key(args: argparse.Namespace) -> int:
    settings = _settings()
    engine = open_database(settings, migrate=True)
    key = secrets.token_urlsafe(32)
    with unit_of_work(make_session_factory(engine)) as session:
        api_keys.ensure(session, key, args.name, datetime.now(UTC))
    engine.dispose()
    print(key)  # shown once; only its hash is stored
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="groundswell", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="apply migrations, start the API and the scheduler")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=_port, default=8000, help="1-65535 (default 8000)")
    serve.set_defaults(func=_serve)
    sub.add_parser("migrate", help="apply database migrations").set_defaults(func=_migrate)
    sub.add_parser(
        "detect-once", help="one detection pass over every watch, then deliver"
    ).set_defaults(func=_detect_once)
    slack_test = sub.add_parser(
        "slack-test", help="post a test message to Slack and print what Slack answered"
    )
    slack_test.add_argument(
        "--channel", type=_name, help="channel (default GROUNDSWELL_SLACK_DEFAULT_CHANNEL)"
    )
    slack_test.set_defaults(func=_slack_test)
    create_key = sub.add_parser("create-api-key", help="create an API key (printed once)")
    create_key.add_argument("name", type=_name, help="who or what the key is for")
    create_key.set_defaults(func=_create_api_key)
    ml_commands.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        result = args.func(args)
    except ConfigError as exc:
        print(f"groundswell: {exc}", file=sys.stderr)
        return 2
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
