"""The audit trail in the single table (item map: dynamo_table.py).

    AUDIT#<yyyy-mm> / <at>#<digest>      one event; GSI1 AUDIT-PROJECT#<project> / <at>#<digest>
    AUDIT-EVENT#<digest> / AUDIT-EVENT   the event id's marker: a second write of it is refused

An event and its marker are written in one transaction whose marker condition makes the
append idempotent (a handler retried under at-least-once delivery may read another time
from the clock, so the event's own key cannot be the guard). Months partition the log so
that no partition grows without bound, and a listing walks them newest (or oldest) first.
Both items carry the TTL attribute: the retention setting drops them together.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..domain.audit import AuditEvent, AuditPage, AuditQuery, decode_cursor, encode_cursor
from ..domain.clock import iso
from .dynamo_table import (
    GSI1,
    GSI1_PK,
    GSI1_SK,
    PK,
    SK,
    TTL_ATTRIBUTE,
    Action,
    ConditionFailed,
    Table,
    TransactionRefused,
    Update,
    absent,
    from_item,
    storable,
    to_item,
)

if TYPE_CHECKING:
    from ..domain.ports import Audited

# Items examined per listing call at most: an actor filter over a busy month must not
# turn one request into a scan of the month. The page then ends early with a cursor.
MAX_EXAMINED = 2000
_FIELDS = set(AuditEvent.model_fields)


def _month(at: datetime) -> str:
    return f"AUDIT#{at:%Y-%m}"


def _sort_key(event: AuditEvent) -> str:
    return f"{iso(event.at)}#{event.digest}"


def _project_partition(project: str) -> str:
    return f"AUDIT-PROJECT#{project}"


def _item(entry: Audited) -> dict[str, Any]:
    event = entry.event
    item = {
        **storable(event.model_dump()),
        TTL_ATTRIBUTE: int(entry.expire_at.timestamp()),
    }
    if event.project:
        item[GSI1_PK] = _project_partition(event.project)
        item[GSI1_SK] = _sort_key(event)
    return item


def write_audited(table: Table, action: Action, audit: Audited | None, refused: Exception) -> None:
    """``action`` and its audit event together (fail closed: no token or publisher changes
    without its record in the trail); ``refused`` is raised when the action's own condition
    fails, under its name."""
    try:
        if audit is None:
            table.write(action)
        else:
            table.transact([action, *audit_actions(audit)])
    except ConditionFailed as error:
        raise refused from error
    except TransactionRefused as error:
        if error.condition_failed(action.name):
            raise refused from error
        raise


def audit_actions(entry: Audited) -> list[Action]:
    """The marker and the event, for a transaction that makes a change and records it."""
    event = entry.event
    marker = {PK: f"AUDIT-EVENT#{event.digest}", SK: "AUDIT-EVENT"}
    expires = {TTL_ATTRIBUTE: int(entry.expire_at.timestamp())}
    return [
        Action("audit-marker", "Put", marker, absent(), item=expires),
        Action(
            "audit-event",
            "Put",
            {PK: _month(event.at), SK: _sort_key(event)},
            absent(),
            item=_item(entry),
        ),
    ]


def _months(oldest: datetime, now: datetime) -> list[str]:
    months = []
    year, month = oldest.year, oldest.month
    while (year, month) <= (now.year, now.month):
        months.append(f"AUDIT#{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


class DynamoAuditLog:
    def __init__(self, client: Any, table_name: str) -> None:
        self._table = Table(client, table_name)

    def append(self, entry: Audited) -> bool:
        try:
            self._table.transact(audit_actions(entry))
        except TransactionRefused as refused:
            if refused.condition_failed("audit-marker"):
                return False  # recorded before: a retried handler
            raise
        return True

    def count_failure(self, entry: Audited) -> None:
        event = entry.event
        update = Update()
        for name, value in _item(entry).items():
            if name != "count":
                update.set(name, value)
        update.adds["count"] = event.count
        self._table.write(
            Action(
                "audit-summary",
                "Update",
                {PK: _month(event.at), SK: _sort_key(event)},
                None,
                update,
            )
        )

    def page(
        self, query: AuditQuery, *, cursor: str | None, now: datetime, oldest: datetime
    ) -> AuditPage:
        start = decode_cursor(cursor) if cursor else {}
        if cursor and set(start) != {"p", "s"}:
            raise ValueError("not a cursor of this listing")
        if query.project is not None:
            partitions = [_project_partition(query.project)]
        else:
            partitions = _months(max(oldest, query.since or oldest), now)
            if query.newest_first:
                partitions.reverse()
        if start:
            if start["p"] not in partitions:
                raise ValueError("not a cursor of this listing")
            partitions = partitions[partitions.index(start["p"]) :]
        since = iso(query.since) if query.since else None
        events: list[AuditEvent] = []
        examined = 0
        for partition in partitions:
            after = start.get("s") if start.get("p") == partition else None
            for sort_key, event in self._read(partition, query, after, since):
                examined += 1
                if query.matches(event):
                    events.append(event)
                if len(events) == query.limit or examined == MAX_EXAMINED:
                    return AuditPage(
                        events=events, cursor=encode_cursor({"p": partition, "s": sort_key})
                    )
        return AuditPage(events=events)

    def _read(
        self, partition: str, query: AuditQuery, after: str | None, since: str | None
    ) -> Iterator[tuple[str, AuditEvent]]:
        """(sort key, event) of one partition in the query's order, after ``after``."""
        by_project = query.project is not None
        pk, sk = (GSI1_PK, GSI1_SK) if by_project else (PK, SK)
        condition = "#pk = :pk"
        values: dict[str, Any] = {":pk": partition}
        if after is not None:
            condition += " AND #sk < :sk" if query.newest_first else " AND #sk > :sk"
            values[":sk"] = after
        elif since is not None and not query.newest_first:
            condition += " AND #sk >= :sk"
            values[":sk"] = since
        kwargs: dict[str, Any] = {
            "TableName": self._table.name,
            "KeyConditionExpression": condition,
            "ExpressionAttributeNames": {"#pk": pk, **({"#sk": sk} if ":sk" in values else {})},
            "ExpressionAttributeValues": to_item(values),
            "ScanIndexForward": not query.newest_first,
        }
        if by_project:
            kwargs["IndexName"] = GSI1
        else:
            kwargs["ConsistentRead"] = True
        for response in self._table.client.get_paginator("query").paginate(**kwargs):
            for raw in response.get("Items", []):
                item = from_item(raw)
                key = item[sk]
                if since is not None and query.newest_first and key < since:
                    return  # newest first: everything after this is older still
                yield (
                    key,
                    AuditEvent.model_validate({k: v for k, v in item.items() if k in _FIELDS}),
                )
