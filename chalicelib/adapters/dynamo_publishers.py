"""Trusted publishers and used OIDC token ids in the single table.

Every publisher lives in one partition (``PUBLISHERS``), so the mint endpoint reads the
whole registry with one consistent query: an admin's change counts on the next request.
A used ``jti`` is a conditional put that expires (TTL) once the token could no longer be
accepted anyway.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..domain.errors import ConflictError, NotFoundError
from ..domain.trusted_publishers import TrustedPublisher
from .dynamo_audit import write_audited
from .dynamo_table import (
    PK,
    SK,
    TTL_ATTRIBUTE,
    Action,
    ConditionFailed,
    Key,
    Table,
    absent,
    exists,
    storable,
)

if TYPE_CHECKING:
    from ..domain.ports import Audited

PUBLISHERS = "PUBLISHERS"


def publisher_key(publisher_id: str) -> Key:
    return {PK: PUBLISHERS, SK: publisher_id}


def jti_key(issuer: str, jti: str) -> Key:
    return {PK: f"JTI#{issuer}#{jti}", SK: "JTI"}


def _record(item: dict[str, Any]) -> TrustedPublisher:
    return TrustedPublisher.model_validate({k: v for k, v in item.items() if k not in (PK, SK)})


class DynamoTrustedPublisherStore:
    def __init__(self, client: Any, table_name: str) -> None:
        self._table = Table(client, table_name)

    def add(self, publisher: TrustedPublisher, *, audit: Audited | None = None) -> None:
        item = storable(publisher.model_dump())
        put = Action("publisher", "Put", publisher_key(publisher.id), absent(), item=item)
        write_audited(
            self._table,
            put,
            audit,
            ConflictError("A trusted publisher with this id already exists."),
        )

    def all(self) -> list[TrustedPublisher]:
        records = [_record(item) for item in self._table.query(PUBLISHERS)]
        return sorted(records, key=lambda p: (p.created_at, p.id))

    def remove(self, publisher_id: str, *, audit: Audited | None = None) -> TrustedPublisher:
        missing = NotFoundError(f"No trusted publisher with id {publisher_id!r}.")
        item = self._table.get(publisher_key(publisher_id))
        if item is None:
            raise missing
        delete = Action("publisher", "Delete", publisher_key(publisher_id), exists())
        write_audited(self._table, delete, audit, missing)
        return _record(item)


class DynamoReplayGuard:
    def __init__(self, client: Any, table_name: str) -> None:
        self._table = Table(client, table_name)

    def first_use(self, issuer: str, jti: str, *, expire_at: datetime) -> bool:
        item = {TTL_ATTRIBUTE: int(expire_at.timestamp())}
        try:
            self._table.write(Action("jti", "Put", jti_key(issuer, jti), absent(), item=item))
        except ConditionFailed:
            return False
        return True
