"""Ports: what the services need from storage, as Protocols with one-line contracts."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from .tokens import TokenRecord

Clock = Callable[[], datetime]


class TokenStore(Protocol):
    def add(self, record: TokenRecord, *, expire_at: datetime | None) -> None:
        """Store a new token; raises ``ConflictError`` if its hash is already stored."""

    def get_by_hash(self, secret_hash: str) -> TokenRecord | None:
        """The token with this secret hash, read consistently, or ``None``."""

    def get_by_id(self, token_id: str) -> TokenRecord | None:
        """The token with this public id, or ``None``."""

    def all(self) -> Iterator[TokenRecord]:
        """Every stored token, oldest first."""

    def revoke(self, secret_hash: str, at: datetime, *, expire_at: datetime) -> None:
        """Mark a live token revoked; raises ``NotFoundError`` if absent or already revoked."""

    def touch(self, secret_hash: str, at: datetime, *, not_since: datetime) -> None:
        """Record a use at ``at`` unless one is recorded after ``not_since``; races are fine."""


@dataclass(frozen=True)
class StoredObject:
    body: bytes
    etag: str
    metadata: dict[str, str] = field(default_factory=dict)


class ObjectStore(Protocol):
    def get(self, key: str) -> StoredObject | None:
        """The object at ``key``, or ``None`` when there is none."""

    def put(self, key: str, body: bytes, *, content_type: str, metadata: dict[str, str]) -> None:
        """Write the object at ``key``, replacing any that is there."""
