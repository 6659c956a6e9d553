"""API keys, stored as SHA-256 hashes; the bootstrap key from settings."""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.base import new_id
from app.db.tables import ApiKey


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def is_valid(session: Session, key: str) -> bool:
    stmt = select(ApiKey.id).where(ApiKey.key_hash == hash_key(key))
    return session.scalar(stmt) is not None


def ensure(session: Session, key: str, name: str, now: datetime) -> None:
    """Store the key's hash once (idempotent)."""
    if not is_valid(session, key):
        session.add(ApiKey(id=new_id("key"), name=name, key_hash=hash_key(key), created_at=now))
