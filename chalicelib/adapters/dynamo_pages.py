"""The pages' items in the single table (item map: dynamo_table.py).

PAGES#<project> / RELEASE#<version>         a release's page facts (one query per project)
PAGES / <project>                            the project's latest summary (the list's filter)
DOWNLOADS#<project> / <yyyy-mm-dd>#<version> a day's download counter (ADD; TTL-expired)
BROWSER#<sha256 of the session id> / BROWSER a signed-in browser (TTL-expired)
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from ..domain.clock import iso
from ..domain.errors import ConflictError
from ..domain.pages import BrowserSession, ReleaseDoc
from .dynamo_table import (
    SK,
    TTL_ATTRIBUTE,
    Action,
    ConditionFailed,
    Expr,
    Key,
    Table,
    Update,
    absent,
    storable,
    unless_condition_fails,
)


def release_page_key(project: str, version: str) -> Key:
    return {"PK": f"PAGES#{project}", "SK": f"RELEASE#{version}"}


def download_key(project: str, day: date, version: str) -> Key:
    return {"PK": f"DOWNLOADS#{project}", "SK": f"{day.isoformat()}#{version}"}


def browser_key(id_hash: str) -> Key:
    return {"PK": f"BROWSER#{id_hash}", "SK": "BROWSER"}


class DynamoPageStore:
    def __init__(self, client: Any, table_name: str) -> None:
        self._table = Table(client, table_name)

    def put_release(self, doc: ReleaseDoc) -> None:
        item = storable(doc.model_dump(mode="json"))
        self._table.write(
            Action("release", "Put", release_page_key(doc.project, doc.version), item=item)
        )

    def releases(self, project: str) -> list[ReleaseDoc]:
        return [
            ReleaseDoc.model_validate(_without_keys(item))
            for item in self._table.query(f"PAGES#{project}")
        ]

    def set_summary(self, project: str, summary: str, *, at: datetime) -> None:
        not_older = absent() | Expr("#at <= :at", {"#at": "published_at"}, {":at": iso(at)})
        item = {"summary": summary, "published_at": iso(at)}
        with unless_condition_fails():  # a later release's summary is already recorded
            self._table.write(
                Action("summary", "Put", {"PK": "PAGES", "SK": project}, not_older, item=item)
            )

    def summaries(self) -> dict[str, str]:
        return {item[SK]: item.get("summary", "") for item in self._table.query("PAGES")}

    def count_download(self, project: str, version: str, day: date, *, expire_at: datetime) -> None:
        update = Update(adds={"count": 1}).set(TTL_ATTRIBUTE, int(expire_at.timestamp()))
        self._table.write(
            Action("count", "Update", download_key(project, day, version), None, update)
        )

    def downloads(self, project: str, since: date) -> dict[str, int]:
        counts: dict[str, int] = {}
        # Sort keys start with the day, so one ranged query reads exactly the window.
        for item in self._table.query(f"DOWNLOADS#{project}", sort_above=since.isoformat()):
            version = item[SK].split("#", 1)[1]
            counts[version] = counts.get(version, 0) + int(item["count"])
        return counts

    def add_browser_session(self, record: BrowserSession) -> None:
        item = {
            **storable(record.model_dump()),
            TTL_ATTRIBUTE: int(record.expires_at.timestamp()),
        }
        try:
            self._table.write(
                Action("browser", "Put", browser_key(record.id_hash), absent(), item=item)
            )
        except ConditionFailed as error:
            raise ConflictError("A browser session with this id exists.") from error

    def browser_session(self, id_hash: str) -> BrowserSession | None:
        item = self._table.get(browser_key(id_hash))
        return BrowserSession.model_validate(_without_keys(item)) if item else None

    def end_browser_session(self, id_hash: str) -> None:
        self._table.write(Action("browser", "Delete", browser_key(id_hash)))


def _without_keys(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k not in ("PK", "SK", TTL_ATTRIBUTE)}
