"""API keys, stored as SHA-256 hashes; the bootstrap key from settings."""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.base import new_id
from app.db.tables import ApiKey
from app.db.upsert import insert_for


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def is_valid(session: Session, key: str) -> bool:
    stmt = select(ApiKey.id).where(ApiKey.key_hash == hash_key(key))
    return session.scalar(stmt) is not None


def ensure(session: Session, key: str, name: str, now: datetime) -> None:
    """Store the key's hash once (idempotent, also when several instances start at
    once with the same bootstrap key: the unique hash decides, nobody fails)."""
    if not is_valid(session, key):
        store(session, key, name, now)


def store(session: Session, key: str, name: str, now: datetime) -> None:
    """Insert the key's hash unless a row with that hash exists (whoever inserted it:
    another instance may have done so since this one looked)."""
    row = {"id": new_id("key"), "name": name, "key_hash": hash_key(key), "created_at": now}
    stmt = insert_for(session, ApiKey).values(**row)
    session.execute(stmt.on_conflict_do_nothing(index_elements=["key_hash"]))
