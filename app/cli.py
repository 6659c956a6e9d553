"""Command line: `groundswell serve | migrate | detect-once | train | classify | check-model`."""

from __future__ import annotations

import argparse
import json
import secrets
import sys
from collections.abc import Sequence
from datetime import UTC, datetime

import uvicorn
from pydantic import ValidationError

from app import logging as app_logging
from app.db.migrate import upgrade_head
from app.db.repos import api_keys
from app.db.session import make_engine, make_session_factory, unit_of_work
from app.jobs import tasks
from app.ml import commands as ml_commands
from app.runtime import build_runtime
from app.settings import Settings, load_settings
from app.web import create_app


def _settings() -> Settings:
    try:
        return load_settings()
    except ValidationError as exc:
        for err in exc.errors():
            field = ".".join(str(p) for p in err["loc"]) or "settings"
            print(f"groundswell: GROUNDSWELL_{field.upper()}: {err['msg']}", file=sys.stderr)
        raise SystemExit(2) from None


def _serve(args: argparse.Namespace) -> int:
    settings = _settings()
    app_logging.configure(settings.log_level)
    runtime = build_runtime(settings)
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
    engine = make_engine(settings.database_url)
    upgrade_head(engine)
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


def _create_api_key(args: argparse.Namespace) -> int:
    settings = _settings()
    engine = make_engine(settings.database_url)
    upgrade_head(engine)
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
    serve.add_argument("--port", type=int, default=8000)
    serve.set_defaults(func=_serve)
    sub.add_parser("migrate", help="apply database migrations").set_defaults(func=_migrate)
    sub.add_parser(
        "detect-once", help="one detection pass over every watch, then deliver"
    ).set_defaults(func=_detect_once)
    create_key = sub.add_parser("create-api-key", help="create an API key (printed once)")
    create_key.add_argument("name", help="who or what the key is for")
    create_key.set_defaults(func=_create_api_key)
    ml_commands.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    result = args.func(args)
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
