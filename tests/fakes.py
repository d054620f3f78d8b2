"""In-memory implementations of the domain's ports, held to the same contract tests as AWS."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime

from chalicelib.domain.errors import ConflictError, NotFoundError
from chalicelib.domain.tokens import TokenRecord


class InMemoryTokenStore:
    def __init__(self) -> None:
        self._by_hash: dict[str, TokenRecord] = {}
        self._lock = threading.Lock()

    def add(self, record: TokenRecord, *, expire_at: datetime | None) -> None:
        with self._lock:
            if record.secret_hash in self._by_hash:
                raise ConflictError("A token with this secret already exists.")
            self._by_hash[record.secret_hash] = record

    def get_by_hash(self, secret_hash: str) -> TokenRecord | None:
        return self._by_hash.get(secret_hash)

    def get_by_id(self, token_id: str) -> TokenRecord | None:
        return next((r for r in self._by_hash.values() if r.id == token_id), None)

    def all(self) -> Iterator[TokenRecord]:
        yield from sorted(self._by_hash.values(), key=lambda r: (r.created_at, r.id))

    def revoke(self, secret_hash: str, at: datetime, *, expire_at: datetime) -> None:
        with self._lock:
            record = self._by_hash.get(secret_hash)
            if record is None or record.revoked_at is not None:
                raise NotFoundError("No live token with this id.")
            self._by_hash[secret_hash] = record.model_copy(update={"revoked_at": at})

    def touch(self, secret_hash: str, at: datetime, *, not_since: datetime) -> None:
        with self._lock:
            record = self._by_hash.get(secret_hash)
            if record is None:
                return
            if record.last_used_at is None or record.last_used_at <= not_since:
                self._by_hash[secret_hash] = record.model_copy(update={"last_used_at": at})


# Kept importable from here for the tests that grew up with it.
from chalicelib.domain.inspection.sources import BytesSource  # noqa: E402, F401
