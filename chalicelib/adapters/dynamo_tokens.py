"""Tokens in the single table: one item per token, keyed by the hash of its secret.

Authentication is a consistent ``GetItem`` on the hash, so a revocation is seen by
the very next request. The sparse ``GSI1`` lists tokens by id for the admin API.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..domain.clock import iso
from ..domain.errors import ConflictError, NotFoundError
from ..domain.tokens import TokenRecord
from .dynamo_audit import write_audited
from .dynamo_table import (
    GSI1_PK,
    GSI1_SK,
    TOKENS,
    TTL_ATTRIBUTE,
    Action,
    Expr,
    Table,
    Update,
    absent,
    exists,
    storable,
    token_key,
    unless_condition_fails,
)

if TYPE_CHECKING:
    from ..domain.ports import Audited


def _record(item: dict[str, Any]) -> TokenRecord:
    return TokenRecord.model_validate(item)


class DynamoTokenStore:
    def __init__(self, client: Any, table_name: str) -> None:
        self._table = Table(client, table_name)

    def add(
        self, record: TokenRecord, *, expire_at: datetime | None, audit: Audited | None = None
    ) -> None:
        item = {
            **storable(record.model_dump()),
            GSI1_PK: TOKENS,
            GSI1_SK: record.id,
            TTL_ATTRIBUTE: int(expire_at.timestamp()) if expire_at else None,
        }
        put = Action("token", "Put", token_key(record.secret_hash), absent(), item=item)
        write_audited(
            self._table, put, audit, ConflictError("A token with this secret already exists.")
        )

    def get_by_hash(self, secret_hash: str) -> TokenRecord | None:
        item = self._table.get(token_key(secret_hash))
        return _record(item) if item else None

    def get_by_id(self, token_id: str) -> TokenRecord | None:
        # The index is eventually consistent; callers that act on the result
        # (revoke) do so with a condition on the base item.
        for item in self._table.query(TOKENS, index=True, sort_prefix=token_id):
            if item["id"] == token_id:
                return _record(item)
        return None

    def all(self) -> Iterator[TokenRecord]:
        records = [_record(item) for item in self._table.query(TOKENS, index=True)]
        yield from sorted(records, key=lambda r: (r.created_at, r.id))

    def revoke(
        self, secret_hash: str, at: datetime, *, expire_at: datetime, audit: Audited | None = None
    ) -> None:
        update = Update().set("revoked_at", iso(at)).set(TTL_ATTRIBUTE, int(expire_at.timestamp()))
        live = exists() & absent("revoked_at")
        action = Action("token", "Update", token_key(secret_hash), live, update)
        write_audited(self._table, action, audit, NotFoundError("No live token with this id."))

    def touch(self, secret_hash: str, at: datetime, *, not_since: datetime) -> None:
        stale = Expr(
            "attribute_not_exists(#last_used_at) OR #last_used_at <= :since",
            {"#last_used_at": "last_used_at"},
            {":since": iso(not_since)},
        )
        update = Update().set("last_used_at", iso(at))
        # Another request recorded a recent use first: that is all we wanted.
        with unless_condition_fails():
            self._table.write(
                Action("token", "Update", token_key(secret_hash), exists() & stale, update)
            )
