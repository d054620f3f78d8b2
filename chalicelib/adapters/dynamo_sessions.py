"""The session repository: publishing sessions and file upload sessions in the single table.

Every status write of a session or a file is made here, and each one's condition is
built from the lifecycle table (domain/lifecycle.py): ``#status IN (sources)``, then
``SET #status = target``. A refused write comes back with the item it found
(``ReturnValuesOnConditionCheckFailure``), and a refused transaction names the action
that failed; either becomes a domain error raised from the AWS one.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from packaging.version import Version

from ..domain.catalog import ProjectState
from ..domain.clock import iso
from ..domain.errors import (
    FileInSessionError,
    FilenameTakenError,
    SessionExistsError,
    SessionNotEditableError,
    StateChangedError,
)
from ..domain.lifecycle import (
    EDIT,
    EXTEND,
    FAIL_PUBLISH,
    FILES,
    PUBLISH,
    RECORD_PROGRESS,
    SESSIONS,
    FileStatus,
    SessionStatus,
)
from ..domain.sessions import FileRecord, SessionRecord, release_key
from . import dynamo_filenames
from .dynamo_table import (
    EXPIRING,
    GSI1_PK,
    GSI1_SK,
    MAX_TRANSACTION,
    PROCESSING,
    PURGE_DUE,
    TTL_ATTRIBUTE,
    Action,
    ConditionFailed,
    Expr,
    Table,
    TransactionRefused,
    Update,
    absent,
    attribute_in,
    attribute_is,
    exists,
    file_key,
    name_key,
    project_key,
    release_lock_key,
    session_key,
    storable,
    unless_condition_fails,
)

if TYPE_CHECKING:
    from ..domain.audit import ReleasePublisher

# --- mapping records to items (the pydantic models, with the table's text forms) -------------


def _session_item(record: SessionRecord) -> dict[str, Any]:
    values: dict[str, Any] = storable(record.model_dump())
    if not record.status.terminal:
        values[GSI1_PK] = EXPIRING
        values[GSI1_SK] = _expiring(record.expires_at, record.token)
    return values


def _file_item(record: FileRecord) -> dict[str, Any]:
    stored: dict[str, Any] = storable(record.model_dump())
    return stored


def _expiring(expires_at: datetime, token: str) -> str:
    return f"{iso(expires_at)}#{token}"


# --- named conditions ---------------------------------------------------------------------------


def session_in(name: str) -> Expr:
    """The session's status is one the table allows ``name`` from."""
    return attribute_in("status", SESSIONS.sources(name))


def file_in(name: str) -> Expr:
    return attribute_in("status", FILES.sources(name))


def session_status_update(name: str, update: Update | None = None) -> Update:
    """``SET status = <target of name>`` on top of ``update``."""
    update = update or Update()
    return update.set("status", SESSIONS[name].target)


def commit_session_action(
    token: str, project: str, version: str, *, serial: int, at: datetime, keep_until: datetime
) -> list[Action]:
    """The session's part of a commit (for the catalog's transaction): processing ->
    published under ``serial``, off the expiry list, and its release unlocked."""
    update = session_status_update("commit")
    update.set("terminal_at", iso(at)).set(TTL_ATTRIBUTE, int(keep_until.timestamp()))
    update.set("published_serial", serial)
    update.removes += [GSI1_PK, GSI1_SK]
    return [
        Action("session", "Update", session_key(token), session_in("commit"), update),
        _unlock_release(project, release_key(Version(version)), token),
    ]


def _unlock_release(project: str, release: str, token: str) -> Action:
    held_by_us = absent() | attribute_is("token", token)
    return Action("release-lock", "Delete", release_lock_key(project, release), held_by_us)


class DynamoSessionRepository:
    def __init__(self, client: Any, table_name: str) -> None:
        self._table = Table(client, table_name)

    # --- publishing sessions -----------------------------------------------------------------

    def open_session_for(self, project: str, release: str) -> str | None:
        item = self._table.get(release_lock_key(project, release))
        return item["token"] if item else None

    def create_session(self, record: SessionRecord, *, release: str, project: ProjectState) -> None:
        actions = [
            Action(
                "session", "Put", session_key(record.token), absent(), item=_session_item(record)
            ),
            Action(
                "release-lock",
                "Put",
                release_lock_key(record.project, release),
                absent(),
                item={"token": record.token},
            ),
            self._project_hold(record, project),
        ]
        try:
            self._table.transact(actions)
        except TransactionRefused as refused:
            if refused.condition_failed("release-lock"):
                token = (refused.found("release-lock") or {}).get("token")
                raise SessionExistsError(
                    "A publishing session for this release is already in progress.",
                    token=token or self.open_session_for(record.project, release) or "",
                ) from refused
            if refused.condition_failed("project"):
                raise StateChangedError("The project changed; try again.") from refused
            raise

    def _project_hold(self, record: SessionRecord, project: ProjectState) -> Action:
        """A first release reserves the name; later releases need it still published and open."""
        key = project_key(record.project)
        if project is ProjectState.NEW:
            item = {"state": str(ProjectState.RESERVED), "reservations": {record.token}}
            return Action("project", "Put", key, absent(), item=item)
        if project is ProjectState.RESERVED:
            add = Update(adds={"reservations": {record.token}})
            return Action("project", "Update", key, attribute_is("state", "reserved"), add)
        # Archiving or quarantining races no session into existence.
        still_open = Expr(
            "NOT (#project_status IN (:closed0, :closed1))",
            {"#project_status": "project_status"},
            {":closed0": "archived", ":closed1": "quarantined"},
        )
        published = attribute_is("state", str(ProjectState.PUBLISHED))
        return Action("project", "ConditionCheck", key, published & still_open)

    def get_session(self, token: str) -> SessionRecord | None:
        item = self._table.get(session_key(token))
        return SessionRecord.model_validate(item) if item else None

    def finish_session(
        self,
        session: SessionRecord,
        transition: str,
        *,
        at: datetime,
        keep_until: datetime,
        notices: Iterable[str] = (),
    ) -> SessionRecord:
        """Cancel or expire: the status write, the release unlocked and the name hold dropped
        in one transaction. ``StateChangedError`` (with the status found) if refused."""
        target = SESSIONS[transition].target
        assert target is SessionStatus.CANCELED, "only cancel and expire end a session here"
        update = session_status_update(transition)
        update.set("terminal_at", iso(at)).set(TTL_ATTRIBUTE, int(keep_until.timestamp()))
        update.raw_sets.append(
            Expr(
                "notices = list_append(notices, :new_notices)", {}, {":new_notices": list(notices)}
            )
        )
        # A canceled session stays findable until its bytes are gone (mark_purged).
        update.set(GSI1_PK, PURGE_DUE).set(GSI1_SK, f"{iso(at)}#{session.token}")
        actions = [
            Action("session", "Update", session_key(session.token), session_in(transition), update),
            _unlock_release(session.project, release_key(Version(session.version)), session.token),
        ]
        if session.reserves_project:
            drop = Update(deletes={"reservations": {session.token}})
            actions.append(
                Action("project", "Update", project_key(session.project), exists(), drop)
            )
        self._table.transact_or_changed(
            actions, "The publishing session changed while this request ran.", watch="session"
        )
        if session.reserves_project:
            self._drop_unused_reservation(session.project)
        finished = self.get_session(session.token)
        assert finished is not None
        return finished

    def _drop_unused_reservation(self, project: str) -> None:
        """Forget a reserved name once no session holds it (its first release never came)."""
        unused = attribute_is("state", str(ProjectState.RESERVED)) & absent("reservations")
        with unless_condition_fails():
            self._table.write(Action("project", "Delete", project_key(project), unused))

    def begin_publish(
        self,
        session: SessionRecord,
        filenames: list[str],
        *,
        at: datetime,
        by: ReleasePublisher | None = None,
    ) -> None:
        """open|error -> processing and every filename reserved, all or nothing.

        A release may exceed one transaction: the status write and the first names go
        together, later batches follow, and a refused later batch releases what was
        reserved and fails the publish (processing -> error, with a notice).
        ``FilenameTakenError`` names the filenames taken; ``StateChangedError`` if the
        session changed since it was read (its revision moved).
        """
        update = session_status_update(PUBLISH).set("publish_requested_at", iso(at))
        update.set("publish_requested_by", storable(by.model_dump()) if by else None)
        unchanged = session_in(PUBLISH) & attribute_is("revision", session.revision)
        status = Action("session", "Update", session_key(session.token), unchanged, update)
        claims = [
            dynamo_filenames.reserve_action(
                name, session.token, session.project, session.version, at=at
            )
            for name in filenames
        ]
        batches = [[status, *claims[: MAX_TRANSACTION - 1]]]
        rest = claims[MAX_TRANSACTION - 1 :]
        batches += [rest[i : i + MAX_TRANSACTION] for i in range(0, len(rest), MAX_TRANSACTION)]
        done: list[str] = []
        for number, batch in enumerate(batches):
            try:
                self._table.transact(batch)
            except TransactionRefused as refused:
                if refused.condition_failed("session"):
                    raise StateChangedError(
                        "The session changed; read it again.",
                        current=(refused.found("session") or {}).get("status"),
                    ) from refused
                taken = [
                    a.item["filename"]
                    for a in batch
                    if a.item and "filename" in a.item and refused.condition_failed(a.name)
                ]
                if number > 0:
                    self._undo_publish(session, done, taken)
                raise FilenameTakenError(
                    "These files already exist (published, or being published by another "
                    f"session): {', '.join(taken) or 'unknown'}.",
                    errors=[
                        {"source": n, "code": "filename-taken", "message": "filename already taken"}
                        for n in taken
                    ],
                ) from refused
            except Exception:
                if number > 0:  # whatever broke, never leave half a reservation behind
                    self._undo_publish(session, done, [])
                raise
            done += [a.item["filename"] for a in batch if a.item and "filename" in a.item]

    def _undo_publish(self, session: SessionRecord, reserved: list[str], taken: list[str]) -> None:
        dynamo_filenames.release(self._table, session.token, reserved)
        notice = "publishing stopped: " + (
            f"these filenames are taken: {', '.join(taken)}" if taken else "a write failed"
        )
        self.fail_publish(session.token, [notice])

    def fail_publish(self, token: str, notices: list[str]) -> bool:
        """processing -> error with ``notices``; ``False`` if the session was not processing
        (it committed meanwhile, and keeps everything)."""
        update = session_status_update(FAIL_PUBLISH)
        update.raw_sets.append(
            Expr("notices = list_append(notices, :new_notices)", {}, {":new_notices": notices})
        )
        try:
            self._table.write(
                Action("session", "Update", session_key(token), session_in(FAIL_PUBLISH), update)
            )
        except ConditionFailed:
            return False
        return True

    def extend_session(self, session: SessionRecord, expires_at: datetime) -> SessionRecord:
        update = Update().set("expires_at", iso(expires_at))
        update.set(GSI1_SK, _expiring(expires_at, session.token))
        later = Expr(
            "#expires_at < :new_expiry",
            {"#expires_at": "expires_at"},
            {":new_expiry": iso(expires_at)},
        )
        condition = exists(GSI1_PK) & later & session_in(EXTEND)
        try:
            item = self._table.write(
                Action("session", "Update", session_key(session.token), condition, update),
                returning=True,
            )
        except ConditionFailed as refused:
            if refused.item is None:
                raise StateChangedError("The publishing session is gone.") from refused
            return SessionRecord.model_validate(refused.item)
        assert item is not None
        return SessionRecord.model_validate(item)

    def due_sessions(self, now: datetime) -> list[str]:
        return [i["token"] for i in self._table.query(EXPIRING, index=True, sort_below=iso(now))]

    def purge_due(self) -> list[str]:
        return [i["token"] for i in self._table.query(PURGE_DUE, index=True)]

    def mark_purged(self, token: str) -> None:
        update = Update(removes=[GSI1_PK, GSI1_SK])
        with unless_condition_fails():
            self._table.write(
                Action(
                    "session",
                    "Update",
                    session_key(token),
                    attribute_is(GSI1_PK, PURGE_DUE),
                    update,
                )
            )

    def open_sessions(self) -> list[SessionRecord]:
        """Every non-terminal session (the sweeper's view; few at any time)."""
        tokens = [i["token"] for i in self._table.query(EXPIRING, index=True)]
        sessions = [self.get_session(token) for token in tokens]
        return [s for s in sessions if s is not None]

    def live_sessions(self, now: datetime) -> Iterator[SessionRecord]:
        """Non-terminal sessions that expire after ``now``, soonest first, read lazily page by
        page so a caller can stop early. The index is eventually consistent: a session that
        changed a moment ago may show its previous state."""
        for item in self._table.query(EXPIRING, index=True, sort_above=iso(now)):
            yield SessionRecord.model_validate(item)

    # --- file upload sessions -------------------------------------------------------------------

    def _edit(self, token: str) -> Action:
        """Every change to a session's files bumps its revision, so a publish that read an
        older set of files fails its condition instead of publishing a stale view."""
        bump = Update(raw_sets=[Expr("revision = revision + :one", {}, {":one": 1})])
        return Action("session", "Update", session_key(token), session_in(EDIT), bump)

    def add_file(self, session: SessionRecord, record: FileRecord) -> None:
        actions = [
            self._edit(session.token),
            Action(
                "file",
                "Put",
                file_key(record.session_token, record.file_id),
                absent(),
                item=_file_item(record),
            ),
            Action(
                "name",
                "Put",
                name_key(session.token, record.filename),
                absent(),
                item={"file_id": record.file_id},
            ),
        ]
        try:
            self._table.transact(actions)
        except TransactionRefused as refused:
            if refused.condition_failed("session"):
                status = (refused.found("session") or {}).get("status", "gone")
                raise SessionNotEditableError(
                    f"The publishing session is {status}; it no longer accepts changes."
                ) from refused
            if refused.condition_failed("name"):
                raise FileInSessionError(
                    f"{record.filename!r} (or an equivalent spelling of it) is already in this "
                    "session; delete that file upload session before uploading the file again.",
                    errors=[
                        {
                            "source": "filename",
                            "code": "file-in-session",
                            "message": record.filename,
                        }
                    ],
                ) from refused
            raise

    def get_file(self, token: str, file_id: str) -> FileRecord | None:
        item = self._table.get(file_key(token, file_id))
        return FileRecord.model_validate(item) if item else None

    def list_files(self, token: str) -> list[FileRecord]:
        items = self._table.query(f"SESSION#{token}", sort_prefix="FILE#")
        files = [FileRecord.model_validate(item) for item in items]
        return sorted(files, key=lambda f: (f.created_at, f.file_id))

    def stuck_files(self, before: datetime) -> list[FileRecord]:
        """Files in ``processing`` since before ``before``."""
        found = []
        for item in self._table.query(PROCESSING, index=True, sort_below=iso(before)):
            record = self.get_file(item["session_token"], item["file_id"])
            if record is not None and record.status is FileStatus.PROCESSING:
                found.append(record)
        return found

    def move_file(
        self,
        record: FileRecord,
        transition: str,
        *,
        at: datetime,
        changes: Mapping[str, Any] | None = None,
    ) -> FileRecord:
        """Take the file through ``transition`` and set ``changes`` in the same write;
        ``StateChangedError`` (with the status found) unless the table allows it."""
        target = FILES[transition].target
        update = Update().set("status", target)
        if target is FileStatus.PROCESSING:
            # Listed while processing, so the sweeper finds files whose completion stalled.
            update.set("processing_since", iso(at)).set(GSI1_PK, PROCESSING)
            update.set(GSI1_SK, f"{iso(at)}#{record.session_token}#{record.file_id}")
        else:
            update.removes += [GSI1_PK, GSI1_SK]
        if target is FileStatus.COMPLETED:
            update.set("completed_at", iso(at))
        for name, value in (changes or {}).items():
            update.set(name, storable(value))
        key = file_key(record.session_token, record.file_id)
        try:
            item = self._table.write(
                Action("file", "Update", key, file_in(transition), update), returning=True
            )
        except ConditionFailed as refused:
            found = (refused.item or {}).get("status")
            raise StateChangedError(
                f"The file upload session is {found or 'gone'}; {transition!r} needs "
                f"{' or '.join(sorted(FILES.sources(transition)))}.",
                current=found,
            ) from refused
        assert item is not None
        return FileRecord.model_validate(item)

    def record_progress(self, record: FileRecord, parts: int, size: int) -> None:
        """Note the parts S3 holds on a pending file, so its status shows upload progress."""
        update = Update().set("received_parts", parts).set("received_bytes", size)
        key = file_key(record.session_token, record.file_id)
        with unless_condition_fails():
            self._table.write(Action("file", "Update", key, file_in(RECORD_PROGRESS), update))

    def cancel_file(self, session: SessionRecord, record: FileRecord, *, at: datetime) -> None:
        """delete: the file canceled and its name free in the session, while the session is
        editable; ``StateChangedError`` if either moved."""
        update = Update().set("status", FILES["delete"].target).set("canceled_at", iso(at))
        key = file_key(record.session_token, record.file_id)
        ours = absent() | attribute_is("file_id", record.file_id)
        actions = [
            self._edit(session.token),
            Action("file", "Update", key, file_in("delete"), update),
            Action("name", "Delete", name_key(record.session_token, record.filename), ours),
        ]
        self._table.transact_or_changed(
            actions, "The file upload session or its publishing session changed.", watch="file"
        )
