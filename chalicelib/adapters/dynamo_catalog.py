"""The catalog: what is published. Release files, commits, serials, the project list and
moderation (yanks, PEP 792 status), in the single table (item map: dynamo_table.py)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict
from datetime import datetime
from typing import Any

from ..domain.audit import ReleasePublisher
from ..domain.catalog import ProjectRecord, ProjectState, ProjectStatus, ReleaseCommit
from ..domain.clock import iso
from ..domain.errors import ConflictError, NotFoundError, StateChangedError
from ..domain.index import FileEntry
from .dynamo_sessions import commit_session_action
from .dynamo_table import (
    GSI1_PK,
    GSI1_SK,
    MAX_TRANSACTION,
    PK,
    RENDER_DUE,
    SERIAL_KEY,
    SK,
    Action,
    ConditionFailed,
    Expr,
    Table,
    TransactionRefused,
    Update,
    absent,
    attribute_is,
    commit_key,
    exists,
    listing_key,
    project_key,
    release_file_key,
    storable,
    unless_condition_fails,
)

# The project item's attribute names where they differ from ProjectRecord's fields.
_PROJECT_ATTRIBUTES = {"project_status": "status", "project_status_reason": "status_reason"}


def _project(name: str, item: dict[str, Any]) -> ProjectRecord:
    values = {_PROJECT_ATTRIBUTES.get(k, k): v for k, v in item.items()}
    return ProjectRecord.model_validate({**values, "name": name})


def _entry(item: dict[str, Any]) -> FileEntry:
    fields = FileEntry.__dataclass_fields__
    return FileEntry(**{k: v for k, v in item.items() if k in fields})


def _newer_serial(serial: int) -> Expr:
    return Expr(
        "attribute_not_exists(#serial) OR #serial < :serial",
        {"#serial": "serial"},
        {":serial": serial},
    )


class DynamoCatalog:
    def __init__(self, client: Any, table_name: str) -> None:
        self._table = Table(client, table_name)

    # --- projects -----------------------------------------------------------------------------

    def project(self, name: str) -> ProjectRecord | None:
        item = self._table.get(project_key(name))
        return _project(name, item) if item else None

    def published_serial(self, name: str) -> int | None:
        # Two attributes, not the record: this is read on every index page request.
        item = self._table.get(project_key(name), attributes=("state", "serial"))
        if not item or item.get("state") != ProjectState.PUBLISHED:
            return None
        return int(item.get("serial", 0))

    def listed_projects(self) -> list[str]:
        return [item[SK] for item in self._table.query("PROJECTS")]

    def set_listed(self, project: str, listed: bool) -> None:
        """Whether the root index lists the project (quarantined ones are dropped)."""
        if listed:
            self._table.write(Action("listing", "Put", listing_key(project), item={}))
        else:
            self._table.write(Action("listing", "Delete", listing_key(project)))

    # --- release files and commits ------------------------------------------------------------

    def put_release_files(self, project: str, holder: str, entries: list[FileEntry]) -> None:
        """Write a release's files; idempotent for ``holder``, invisible until its commit."""
        ours = absent() | attribute_is("session", holder)
        actions = [
            Action(
                f"file:{entry.filename}",
                "Put",
                release_file_key(project, entry.filename),
                ours,
                item={**asdict(entry), "session": holder},
            )
            for entry in entries
        ]
        for start in range(0, len(actions), MAX_TRANSACTION):
            try:
                self._table.transact(actions[start : start + MAX_TRANSACTION])
            except TransactionRefused as refused:
                raise StateChangedError(
                    f"Release files are held by another release: {', '.join(refused.failed)}."
                ) from refused

    def drop_release_files(self, project: str, holder: str, filenames: Iterable[str]) -> None:
        """Delete ``holder``'s uncommitted release files (a publish that failed)."""
        for name in filenames:
            with unless_condition_fails():
                self._table.write(
                    Action(
                        "file",
                        "Delete",
                        release_file_key(project, name),
                        attribute_is("session", holder),
                    )
                )

    def next_serial(self) -> int:
        item = self._table.write(
            Action("serial", "Update", SERIAL_KEY, update=Update(adds={"serial": 1})),
            returning=True,
        )
        assert item is not None
        return int(item["serial"])

    def global_serial(self) -> int:
        item = self._table.get(SERIAL_KEY)
        return int(item["serial"]) if item else 0

    def commit(self, commit: ReleaseCommit) -> None:
        """Make a release visible in one transaction: the session published (when there is
        one), the project's serial raised (never lowered) and marked render-due, the project
        listed (a new one), the commit recorded. ``StateChangedError`` if a newer serial won
        or the session is no longer processing."""
        raise_serial = Update(
            raw_sets=[
                Expr(
                    "#pstatus = if_not_exists(#pstatus, :active_status)",
                    {"#pstatus": "project_status"},
                    {":active_status": str(ProjectStatus.ACTIVE)},
                )
            ]
        )
        raise_serial.set("state", str(ProjectState.PUBLISHED)).set("serial", commit.serial)
        raise_serial.set(GSI1_PK, RENDER_DUE).set(GSI1_SK, f"{iso(commit.at)}#{commit.project}")
        actions: list[Action] = []
        if commit.via_session:
            actions += commit_session_action(
                commit.holder,
                commit.project,
                commit.version,
                serial=commit.serial,
                at=commit.at,
                keep_until=commit.keep_until,
            )
        actions.append(
            Action(
                "project",
                "Update",
                project_key(commit.project),
                _newer_serial(commit.serial),
                raise_serial,
            )
        )
        if commit.list_project:
            # Only a new project joins the root's list; a quarantined one must stay off it.
            listed = {"listed_at": iso(commit.at)}
            actions.append(Action("listing", "Put", listing_key(commit.project), item=listed))
        if commit.has_files:
            record = {
                "serial": commit.serial,
                "version": commit.version,
                "committed_at": iso(commit.at),
                "published_by": (
                    storable(commit.published_by.model_dump()) if commit.published_by else None
                ),
            }
            actions.append(
                Action("commit", "Put", commit_key(commit.project, commit.holder), item=record)
            )
        self._table.transact_or_changed(actions, "A concurrent change won; retry.", watch="session")

    def release_publishers(self, project: str) -> dict[str, ReleasePublisher]:
        return {
            item["version"]: ReleasePublisher.model_validate(item["published_by"])
            for item in self._table.query(f"PROJECT#{project}", sort_prefix="COMMIT#")
            if item.get("published_by")
        }

    def committed_files(self, project: str) -> list[FileEntry]:
        """Files of committed releases only. COMMIT# sorts before FILE#, so a paginated read
        sees every commit before any file: files of a release committing meanwhile stay out."""
        commits: set[str] = set()
        entries = []
        for item in self._table.query(f"PROJECT#{project}"):
            sort = item[SK]
            if sort.startswith("COMMIT#"):
                commits.add(sort.removeprefix("COMMIT#"))
            elif sort.startswith("FILE#") and item["session"] in commits:
                entries.append(_entry(item))
        return entries

    def published_file(self, project: str, filename: str) -> FileEntry | None:
        """The file's entry if its release has committed (two consistent reads), else None."""
        item = self._table.get(release_file_key(project, filename))
        if not item or self._table.get(commit_key(project, item["session"])) is None:
            return None
        return _entry(item)

    # --- rendering ---------------------------------------------------------------------------

    def mark_rendered(self, project: str, serial: int) -> None:
        """Record that the project's pages show every commit up to ``serial``.

        Only ever raised, so a slow render finishing late cannot lower it; the project
        leaves the render-due partition once no commit is newer than ``serial``.
        """
        not_lower = Expr(
            "attribute_not_exists(#rendered) OR #rendered <= :rendered",
            {"#rendered": "rendered_serial"},
            {":rendered": serial},
        )
        caught_up = Expr("#serial <= :rendered", {"#serial": "serial"}, {":rendered": serial})
        leave_due = Update(removes=[GSI1_PK, GSI1_SK]).set("rendered_serial", serial)
        attempts = [(exists() & caught_up & not_lower, leave_due)]
        attempts.append((exists() & not_lower, Update().set("rendered_serial", serial)))
        for condition, update in attempts:
            try:
                self._table.write(
                    Action("project", "Update", project_key(project), condition, update)
                )
                return
            except ConditionFailed:
                continue

    def render_due(self, before: datetime) -> list[str]:
        """Projects committed before ``before`` whose pages do not yet show that commit."""
        due = self._table.query(RENDER_DUE, index=True, sort_below=iso(before))
        return [item[PK].removeprefix("PROJECT#") for item in due]

    # --- moderation ---------------------------------------------------------------------------

    def set_yanked(self, project: str, filenames: Iterable[str], reason: str | None) -> None:
        """Yank (``reason`` may be "") or unyank (``None``) files of a project."""
        for name in filenames:
            self._table.write(
                Action(
                    "file",
                    "Update",
                    release_file_key(project, name),
                    update=Update().set("yanked", reason),
                )
            )

    def set_uploaders_cancel_own(self, project: str, allowed: bool) -> None:
        update = Update().set("uploaders_cancel_own", allowed)
        try:
            self._table.write(Action("project", "Update", project_key(project), exists(), update))
        except ConditionFailed as refused:
            raise NotFoundError(f"No project named {project!r}.") from refused

    def raise_serial(
        self,
        project: str,
        *,
        at: datetime,
        status: ProjectStatus | None = None,
        reason: str | None = None,
        set_status: bool = False,
    ) -> int:
        """Give a published project a new serial (and, with ``set_status``, its PEP 792
        status and reason): a change its index must show, render-due until it does, as a
        commit is. ``ConflictError`` if the project is not published."""
        for _ in range(10):
            serial = self.next_serial()
            update = Update().set("serial", serial)
            update.set(GSI1_PK, RENDER_DUE).set(GSI1_SK, f"{iso(at)}#{project}")
            if set_status:
                update.set("project_status", status).set("project_status_reason", reason)
            newer = Expr("#serial < :serial", {"#serial": "serial"}, {":serial": serial})
            published = attribute_is("state", str(ProjectState.PUBLISHED))
            try:
                self._table.write(
                    Action("project", "Update", project_key(project), published & newer, update)
                )
                return serial
            except ConditionFailed as refused:
                if (refused.item or {}).get("state") != str(ProjectState.PUBLISHED):
                    raise ConflictError(f"{project!r} is not a published project.") from refused
        raise StateChangedError("the project's serial kept moving")
