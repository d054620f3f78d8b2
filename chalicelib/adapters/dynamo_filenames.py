"""The filename registry: one claim per file an installer could tell apart, for ever.

A claim is held by a publish in progress (a session token, or ``legacy:<sha256>``)
and becomes permanent once ``published_at`` is set; only its holder may release an
unpublished claim, and nobody a published one (the conditions say so).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from ..domain.catalog import FilenameClaim
from ..domain.clock import iso
from ..domain.filenames import reservation_name
from .dynamo_table import (
    PK,
    Action,
    ConditionFailed,
    Expr,
    Table,
    Update,
    absent,
    attribute_is,
    filename_key,
    unless_condition_fails,
)


def reserve_action(
    filename: str,
    holder: str,
    project: str,
    version: str,
    *,
    at: datetime,
    sha256: str | None = None,
    retry_ok: bool = True,
) -> Action:
    """Claim ``filename`` for ``holder`` (named ``claim:<filename>`` in a transaction).

    With ``retry_ok`` a claim the holder already has passes, so a retried publish
    finds its own reservations.
    """
    condition = absent() | attribute_is("session", holder) if retry_ok else absent()
    item = {
        "filename": filename,
        "session": holder,
        "project": project,
        "version": version,
        "sha256": sha256,
        "reserved_at": iso(at),
    }
    return Action(f"claim:{filename}", "Put", filename_key(filename), condition, item=item)


def release(table: Table, holder: str, filenames: Iterable[str]) -> None:
    """Delete ``holder``'s unpublished claims; never a published one, never another's."""
    ours_unpublished = attribute_is("session", holder) & absent("published_at")
    for name in filenames:
        with unless_condition_fails():
            table.write(Action("claim", "Delete", filename_key(name), ours_unpublished))


def _claim(item: dict[str, Any]) -> FilenameClaim:
    return FilenameClaim(
        filename=item[PK].removeprefix("FILENAME#"),
        holder=item.get("session", ""),
        project=item.get("project", ""),
        version=item.get("version", ""),
        sha256=item.get("sha256"),
        reserved_at=item.get("reserved_at"),
        published_at=item.get("published_at"),
    )


class DynamoFilenameRegistry:
    def __init__(self, client: Any, table_name: str) -> None:
        self._table = Table(client, table_name)

    def claim(self, filename: str) -> FilenameClaim | None:
        """The claim on ``filename`` or an equivalent spelling (consistent read)."""
        item = self._table.get(filename_key(filename))
        return _claim(item) if item else None

    def taken(self, filename: str) -> bool:
        return self._table.get(filename_key(filename)) is not None

    def holders(self, filenames: Iterable[str]) -> dict[str, str | None]:
        """Who holds each filename's claim (consistent reads)."""
        out: dict[str, str | None] = {}
        for name in filenames:
            claim = self.claim(name)
            out[name] = claim.holder if claim else None
        return out

    def reserve_one(
        self, filename: str, holder: str, project: str, version: str, sha256: str, at: datetime
    ) -> FilenameClaim | None:
        """Claim one filename; ``None`` on success, else the claim already there."""
        action = reserve_action(
            filename, holder, project, version, at=at, sha256=sha256, retry_ok=False
        )
        try:
            self._table.write(action)
            return None
        except ConditionFailed as refused:
            if refused.item is not None:
                return _claim(refused.item)
        # Gone between the refusal and now: report it as held by nobody we know.
        return self.claim(filename) or FilenameClaim(
            filename=reservation_name(filename),
            holder="",
            project=project,
            version=version,
            reserved_at=at,
        )

    def release(self, holder: str, filenames: Iterable[str]) -> None:
        release(self._table, holder, filenames)

    def mark_published(self, holder: str, filenames: Iterable[str], at: datetime) -> None:
        """Make ``holder``'s claims permanent; a claim held by another stays as it is."""
        update = Update(
            raw_sets=[
                Expr(
                    "#published_at = if_not_exists(#published_at, :at)",
                    {"#published_at": "published_at"},
                    {":at": iso(at)},
                )
            ]
        )
        for name in filenames:
            with unless_condition_fails():
                self._table.write(
                    Action(
                        "claim",
                        "Update",
                        filename_key(name),
                        attribute_is("session", holder),
                        update,
                    )
                )
