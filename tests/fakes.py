"""In-memory implementations of the domain's ports, held to the same contract tests as AWS.

The session, filename and catalog fakes share one ``Memory`` under one lock, so a write
that DynamoDB makes in one transaction (a session and its filename claims, a commit and
its session) is atomic here too. Status writes check the lifecycle table, as the
DynamoDB repository's conditions do. The bucket fake keeps the S3 events of objects
appearing under the staging prefix, for a test to deliver as SQS would.
"""

from __future__ import annotations

import hashlib
import io
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, BinaryIO

from packaging.version import Version

from chalicelib.domain.audit import (
    AuditEvent,
    AuditPage,
    AuditQuery,
    ReleasePublisher,
    decode_cursor,
    encode_cursor,
)
from chalicelib.domain.catalog import (
    FilenameClaim,
    ProjectRecord,
    ProjectState,
    ProjectStatus,
    ReleaseCommit,
)
from chalicelib.domain.clock import iso
from chalicelib.domain.errors import (
    ConflictError,
    FileInSessionError,
    FilenameTakenError,
    NotFoundError,
    SessionExistsError,
    SessionNotEditableError,
    StateChangedError,
)
from chalicelib.domain.filenames import reservation_name
from chalicelib.domain.index import FileEntry
from chalicelib.domain.inspection.sources import BytesSource
from chalicelib.domain.layout import STAGING_PREFIX
from chalicelib.domain.lifecycle import (
    COMMIT,
    DELETE_FILE,
    EDIT,
    EXTEND,
    FAIL_PUBLISH,
    FILES,
    PUBLISH,
    RECORD_PROGRESS,
    SESSIONS,
    FileStatus,
)
from chalicelib.domain.pages import BrowserSession, ReleaseDoc
from chalicelib.domain.ports import Audited, StoredObject
from chalicelib.domain.review import ReviewPolicy, ReviewRecord, ReviewState, ReviewVerdict
from chalicelib.domain.sessions import FileRecord, SessionRecord, release_key
from chalicelib.domain.tokens import TokenRecord
from chalicelib.domain.trusted_publishers import TrustedPublisher
from chalicelib.wiring import GivenStores


class InMemoryAuditLog:
    """The trail as a dict from sort key to event; markers are the ids recorded."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.events: dict[str, AuditEvent] = {}
        self.expiry: dict[str, datetime] = {}
        self._ids: set[str] = set()

    @staticmethod
    def _key(event: AuditEvent) -> str:
        return f"{iso(event.at)}#{event.digest}"

    def check_new(self, entry: Audited) -> None:
        """Raise if the event's id is recorded (the marker's condition in DynamoDB)."""
        if entry.event.event_id in self._ids:
            raise RuntimeError("transaction refused: audit-marker")

    def append(self, entry: Audited) -> bool:
        with self.lock:
            if entry.event.event_id in self._ids:
                return False
            self._ids.add(entry.event.event_id)
            self.events[self._key(entry.event)] = entry.event
            self.expiry[self._key(entry.event)] = entry.expire_at
            return True

    def count_failure(self, entry: Audited) -> None:
        with self.lock:
            key = self._key(entry.event)
            found = self.events.get(key)
            count = (found.count if found else 0) + entry.event.count
            self.events[key] = entry.event.model_copy(update={"count": count})
            self.expiry[key] = entry.expire_at

    def page(
        self, query: AuditQuery, *, cursor: str | None, now: datetime, oldest: datetime
    ) -> AuditPage:
        after = decode_cursor(cursor).get("s") if cursor else None
        if cursor and after is None:
            raise ValueError("not a cursor of this listing")
        with self.lock:
            keys = sorted(self.events, reverse=query.newest_first)
            chosen: list[tuple[str, AuditEvent]] = []
            for key in keys:
                if after is not None and (key >= after if query.newest_first else key <= after):
                    continue
                event = self.events[key]
                if event.at < oldest or not query.matches(event):
                    continue
                chosen.append((key, event))
                if len(chosen) == query.limit:
                    return AuditPage(
                        events=[e for _, e in chosen], cursor=encode_cursor({"s": key})
                    )
            return AuditPage(events=[e for _, e in chosen])


class InMemoryTokenStore:
    def __init__(self, audit: InMemoryAuditLog | None = None) -> None:
        self._by_hash: dict[str, TokenRecord] = {}
        self._lock = threading.Lock()
        self._audit = audit or InMemoryAuditLog()

    def add(
        self, record: TokenRecord, *, expire_at: datetime | None, audit: Audited | None = None
    ) -> None:
        with self._lock, self._audit.lock:
            if record.secret_hash in self._by_hash:
                raise ConflictError("A token with this secret already exists.")
            if audit is not None:
                self._audit.check_new(audit)
                self._audit.append(audit)
            self._by_hash[record.secret_hash] = record

    def get_by_hash(self, secret_hash: str) -> TokenRecord | None:
        return self._by_hash.get(secret_hash)

    def get_by_id(self, token_id: str) -> TokenRecord | None:
        return next((r for r in self._by_hash.values() if r.id == token_id), None)

    def all(self) -> Iterator[TokenRecord]:
        yield from sorted(self._by_hash.values(), key=lambda r: (r.created_at, r.id))

    def revoke(
        self, secret_hash: str, at: datetime, *, expire_at: datetime, audit: Audited | None = None
    ) -> None:
        with self._lock, self._audit.lock:
            record = self._by_hash.get(secret_hash)
            if record is None or record.revoked_at is not None:
                raise NotFoundError("No live token with this id.")
            if audit is not None:
                self._audit.check_new(audit)
                self._audit.append(audit)
            self._by_hash[secret_hash] = record.model_copy(update={"revoked_at": at})

    def touch(self, secret_hash: str, at: datetime, *, not_since: datetime) -> None:
        with self._lock:
            record = self._by_hash.get(secret_hash)
            if record is None:
                return
            if record.last_used_at is None or record.last_used_at <= not_since:
                self._by_hash[secret_hash] = record.model_copy(update={"last_used_at": at})


class InMemoryTrustedPublisherStore:
    def __init__(self, audit: InMemoryAuditLog | None = None) -> None:
        self._by_id: dict[str, TrustedPublisher] = {}
        self._lock = threading.Lock()
        self._audit = audit or InMemoryAuditLog()

    def add(self, publisher: TrustedPublisher, *, audit: Audited | None = None) -> None:
        with self._lock, self._audit.lock:
            if publisher.id in self._by_id:
                raise ConflictError("A trusted publisher with this id already exists.")
            if audit is not None:
                self._audit.check_new(audit)
                self._audit.append(audit)
            self._by_id[publisher.id] = publisher

    def all(self) -> list[TrustedPublisher]:
        return sorted(self._by_id.values(), key=lambda p: (p.created_at, p.id))

    def remove(self, publisher_id: str, *, audit: Audited | None = None) -> TrustedPublisher:
        with self._lock, self._audit.lock:
            if publisher_id not in self._by_id:
                raise NotFoundError(f"No trusted publisher with id {publisher_id!r}.")
            if audit is not None:
                self._audit.check_new(audit)
                self._audit.append(audit)
            return self._by_id.pop(publisher_id)


class InMemoryReplayGuard:
    def __init__(self) -> None:
        self._seen: set[tuple[str, str]] = set()
        self._lock = threading.Lock()

    def first_use(self, issuer: str, jti: str, *, expire_at: datetime) -> bool:
        with self._lock:
            if (issuer, jti) in self._seen:
                return False
            self._seen.add((issuer, jti))
            return True


class StaticIssuerDocuments:
    """An issuer's documents served from memory; counts fetches, fails on unknown URLs."""

    def __init__(self, documents: dict[str, Any] | None = None) -> None:
        self.documents: dict[str, Any] = dict(documents or {})
        self.fetched: list[str] = []

    def get_json(self, url: str) -> Any:
        self.fetched.append(url)
        if url not in self.documents:
            raise OSError(f"no document at {url}")
        return self.documents[url]


@dataclass
class Memory:
    """Everything the table would hold, under one lock."""

    lock: threading.RLock = field(default_factory=threading.RLock)
    sessions: dict[str, SessionRecord] = field(default_factory=dict)
    files: dict[tuple[str, str], FileRecord] = field(default_factory=dict)
    names: dict[tuple[str, str], str] = field(default_factory=dict)  # (token, name) -> file id
    release_locks: dict[tuple[str, str], str] = field(default_factory=dict)
    purge_due: dict[str, datetime] = field(default_factory=dict)
    projects: dict[str, ProjectRecord] = field(default_factory=dict)
    render_due: dict[str, datetime] = field(default_factory=dict)
    claims: dict[str, FilenameClaim] = field(default_factory=dict)
    release_files: dict[tuple[str, str], tuple[str, FileEntry]] = field(default_factory=dict)
    commits: dict[tuple[str, str], int] = field(default_factory=dict)
    publishers: dict[tuple[str, str], tuple[str, ReleasePublisher]] = field(default_factory=dict)
    listed: set[str] = field(default_factory=set)
    serial: int = 0

    def session_in(self, token: str, name: str) -> SessionRecord:
        """The session, if the table allows ``name`` from its status; else StateChangedError."""
        session = self.sessions.get(token)
        if session is None or session.status not in SESSIONS.sources(name):
            raise StateChangedError(
                f"The publishing session cannot {name} now.",
                current=str(session.status) if session else None,
            )
        return session


def _release_of(session: SessionRecord) -> str:
    return release_key(Version(session.version))


class InMemorySessionRepository:
    def __init__(self, memory: Memory) -> None:
        self._m = memory

    def open_session_for(self, project: str, release: str) -> str | None:
        return self._m.release_locks.get((project, release))

    def create_session(self, record: SessionRecord, *, release: str, project: ProjectState) -> None:
        m = self._m
        with m.lock:
            held = m.release_locks.get((record.project, release))
            if held is not None:
                raise SessionExistsError(
                    "A publishing session for this release is already in progress.", token=held
                )
            current = m.projects.get(record.project)
            state = current.state if current else ProjectState.NEW
            closed = current is not None and current.status.closed
            if state is not project or (state is ProjectState.PUBLISHED and closed):
                raise StateChangedError("The project changed; try again.")
            if project is not ProjectState.PUBLISHED:
                base = current or ProjectRecord(name=record.project, state=ProjectState.RESERVED)
                m.projects[record.project] = base.model_copy(
                    update={"reservations": base.reservations | {record.token}}
                )
            m.sessions[record.token] = record
            m.release_locks[(record.project, release)] = record.token

    def get_session(self, token: str) -> SessionRecord | None:
        return self._m.sessions.get(token)

    def finish_session(
        self,
        session: SessionRecord,
        transition: str,
        *,
        at: datetime,
        keep_until: datetime,
        notices: Iterable[str] = (),
    ) -> SessionRecord:
        m = self._m
        with m.lock:
            current = m.session_in(session.token, transition)
            finished = current.model_copy(
                update={
                    "status": SESSIONS[transition].target,
                    "terminal_at": at,
                    "notices": (*current.notices, *notices),
                }
            )
            m.sessions[session.token] = finished
            m.purge_due[session.token] = at
            key = (session.project, _release_of(session))
            if m.release_locks.get(key) == session.token:
                del m.release_locks[key]
            project = m.projects.get(session.project)
            if session.reserves_project and project is not None:
                left = project.reservations - {session.token}
                if project.state is ProjectState.RESERVED and not left:
                    del m.projects[session.project]
                else:
                    m.projects[session.project] = project.model_copy(update={"reservations": left})
            return finished

    def begin_publish(
        self,
        session: SessionRecord,
        filenames: list[str],
        *,
        at: datetime,
        by: ReleasePublisher | None = None,
    ) -> None:
        m = self._m
        with m.lock:
            current = m.session_in(session.token, PUBLISH)
            if current.revision != session.revision:
                raise StateChangedError("The session changed; read it again.")
            taken = [
                name
                for name in filenames
                if (claim := m.claims.get(reservation_name(name))) is not None
                and claim.holder != session.token
            ]
            if taken:
                raise FilenameTakenError(
                    "These files already exist (published, or being published by another "
                    f"session): {', '.join(taken)}.",
                    errors=[
                        {"source": n, "code": "filename-taken", "message": "filename already taken"}
                        for n in taken
                    ],
                )
            for name in filenames:
                m.claims.setdefault(
                    reservation_name(name),
                    FilenameClaim(
                        filename=reservation_name(name),
                        holder=session.token,
                        project=session.project,
                        version=session.version,
                        reserved_at=at,
                    ),
                )
            m.sessions[session.token] = current.model_copy(
                update={
                    "status": SESSIONS[PUBLISH].target,
                    "publish_requested_at": at,
                    "publish_requested_by": by,
                }
            )

    def fail_publish(self, token: str, notices: list[str]) -> bool:
        m = self._m
        with m.lock:
            try:
                current = m.session_in(token, FAIL_PUBLISH)
            except StateChangedError:
                return False
            m.sessions[token] = current.model_copy(
                update={
                    "status": SESSIONS[FAIL_PUBLISH].target,
                    "notices": (*current.notices, *notices),
                }
            )
            return True

    def extend_session(self, session: SessionRecord, expires_at: datetime) -> SessionRecord:
        m = self._m
        with m.lock:
            current = m.sessions.get(session.token)
            if current is None:
                raise StateChangedError("The publishing session is gone.")
            if current.status in SESSIONS.sources(EXTEND) and current.expires_at < expires_at:
                current = current.model_copy(update={"expires_at": expires_at})
                m.sessions[session.token] = current
            return current

    def due_sessions(self, now: datetime) -> list[str]:
        return [
            s.token
            for s in sorted(self._m.sessions.values(), key=lambda s: (s.expires_at, s.token))
            if not s.status.terminal and s.expires_at < now
        ]

    def purge_due(self) -> list[str]:
        return sorted(self._m.purge_due, key=lambda t: (self._m.purge_due[t], t))

    def mark_purged(self, token: str) -> None:
        self._m.purge_due.pop(token, None)

    def open_sessions(self) -> list[SessionRecord]:
        return [
            s
            for s in sorted(self._m.sessions.values(), key=lambda s: (s.expires_at, s.token))
            if not s.status.terminal
        ]

    def live_sessions(self, now: datetime) -> Iterator[SessionRecord]:
        yield from (s for s in self.open_sessions() if s.expires_at >= now)

    def _edit(self, token: str) -> SessionRecord:
        try:
            session = self._m.session_in(token, EDIT)
        except StateChangedError as error:
            raise SessionNotEditableError(
                f"The publishing session is {error.current or 'gone'}; it no longer accepts "
                "changes."
            ) from error
        return session

    def add_file(self, session: SessionRecord, record: FileRecord) -> None:
        m = self._m
        with m.lock:
            current = self._edit(session.token)
            name = (session.token, reservation_name(record.filename))
            if name in m.names:
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
                )
            m.files[(record.session_token, record.file_id)] = record
            m.names[name] = record.file_id
            m.sessions[session.token] = current.model_copy(
                update={"revision": current.revision + 1}
            )

    def get_file(self, token: str, file_id: str) -> FileRecord | None:
        return self._m.files.get((token, file_id))

    def list_files(self, token: str) -> list[FileRecord]:
        files = [f for (t, _), f in self._m.files.items() if t == token]
        return sorted(files, key=lambda f: (f.created_at, f.file_id))

    def stuck_files(self, before: datetime) -> list[FileRecord]:
        return [
            f
            for f in self._m.files.values()
            if f.status is FileStatus.PROCESSING
            and f.processing_since is not None
            and f.processing_since < before
        ]

    def move_file(
        self,
        record: FileRecord,
        transition: str,
        *,
        at: datetime,
        changes: Mapping[str, Any] | None = None,
    ) -> FileRecord:
        m = self._m
        with m.lock:
            key = (record.session_token, record.file_id)
            current = m.files.get(key)
            if current is None or current.status not in FILES.sources(transition):
                found = str(current.status) if current else None
                raise StateChangedError(
                    f"The file upload session is {found or 'gone'}; {transition!r} needs "
                    f"{' or '.join(sorted(FILES.sources(transition)))}.",
                    current=found,
                )
            target = FILES[transition].target
            update: dict[str, Any] = {"status": target, **(changes or {})}
            if target is FileStatus.PROCESSING:
                update["processing_since"] = at
            if target is FileStatus.COMPLETED:
                update["completed_at"] = at
            moved = current.model_copy(update=update)
            m.files[key] = moved
            return moved

    def record_progress(self, record: FileRecord, parts: int, size: int) -> None:
        m = self._m
        with m.lock:
            key = (record.session_token, record.file_id)
            current = m.files.get(key)
            if current is not None and current.status in FILES.sources(RECORD_PROGRESS):
                m.files[key] = current.model_copy(
                    update={"received_parts": parts, "received_bytes": size}
                )

    def cancel_file(self, session: SessionRecord, record: FileRecord, *, at: datetime) -> None:
        m = self._m
        with m.lock:
            try:
                current_session = m.session_in(session.token, EDIT)
            except StateChangedError as error:
                raise StateChangedError(
                    "The file upload session or its publishing session changed.",
                    current=error.current,
                ) from error
            key = (record.session_token, record.file_id)
            current = m.files.get(key)
            if current is None or current.status not in FILES.sources(DELETE_FILE):
                raise StateChangedError(
                    "The file upload session or its publishing session changed.",
                    current=str(current.status) if current else None,
                )
            m.files[key] = current.model_copy(update={"status": FILES[DELETE_FILE].target})
            name = (session.token, reservation_name(record.filename))
            if m.names.get(name) == record.file_id:
                del m.names[name]
            m.sessions[session.token] = current_session.model_copy(
                update={"revision": current_session.revision + 1}
            )


class InMemoryFilenameRegistry:
    def __init__(self, memory: Memory) -> None:
        self._m = memory

    def claim(self, filename: str) -> FilenameClaim | None:
        return self._m.claims.get(reservation_name(filename))

    def taken(self, filename: str) -> bool:
        return self.claim(filename) is not None

    def holders(self, filenames: Iterable[str]) -> dict[str, str | None]:
        return {n: (c.holder if (c := self.claim(n)) else None) for n in filenames}

    def reserve_one(
        self, filename: str, holder: str, project: str, version: str, sha256: str, at: datetime
    ) -> FilenameClaim | None:
        with self._m.lock:
            existing = self.claim(filename)
            if existing is not None:
                return existing
            self._m.claims[reservation_name(filename)] = FilenameClaim(
                filename=reservation_name(filename),
                holder=holder,
                project=project,
                version=version,
                sha256=sha256,
                reserved_at=at,
            )
            return None

    def release(self, holder: str, filenames: Iterable[str]) -> None:
        with self._m.lock:
            for name in filenames:
                claim = self.claim(name)
                if claim is not None and claim.holder == holder and not claim.published:
                    del self._m.claims[reservation_name(name)]

    def mark_published(self, holder: str, filenames: Iterable[str], at: datetime) -> None:
        with self._m.lock:
            for name in filenames:
                claim = self.claim(name)
                if claim is not None and claim.holder == holder and not claim.published:
                    self._m.claims[reservation_name(name)] = claim.model_copy(
                        update={"published_at": at}
                    )


class InMemoryCatalog:
    def __init__(self, memory: Memory) -> None:
        self._m = memory

    def project(self, name: str) -> ProjectRecord | None:
        return self._m.projects.get(name)

    def published_serial(self, name: str) -> int | None:
        record = self._m.projects.get(name)
        return record.serial if record is not None and record.published else None

    def listed_projects(self) -> list[str]:
        return sorted(self._m.listed)

    def set_listed(self, project: str, listed: bool) -> None:
        with self._m.lock:
            (self._m.listed.add if listed else self._m.listed.discard)(project)

    def put_release_files(self, project: str, holder: str, entries: list[FileEntry]) -> None:
        with self._m.lock:
            for entry in entries:
                key = (project, entry.filename)
                existing = self._m.release_files.get(key)
                if existing is not None and existing[0] != holder:
                    raise StateChangedError(f"{entry.filename} belongs to another release.")
                self._m.release_files[key] = (holder, entry)

    def drop_release_files(self, project: str, holder: str, filenames: Iterable[str]) -> None:
        with self._m.lock:
            for name in filenames:
                if self._m.release_files.get((project, name), ("",))[0] == holder:
                    del self._m.release_files[(project, name)]

    def next_serial(self) -> int:
        with self._m.lock:
            self._m.serial += 1
            return self._m.serial

    def commit(self, commit: ReleaseCommit) -> None:
        m = self._m
        with m.lock:
            session = None
            if commit.via_session:
                session = m.session_in(commit.holder, COMMIT)
            project = m.projects.get(commit.project)
            if project is not None and project.serial >= commit.serial:
                raise StateChangedError("A concurrent change won; retry.")
            if session is not None:
                m.sessions[commit.holder] = session.model_copy(
                    update={
                        "status": SESSIONS[COMMIT].target,
                        "terminal_at": commit.at,
                        "published_serial": commit.serial,
                    }
                )
                key = (commit.project, _release_of(session))
                if m.release_locks.get(key) == commit.holder:
                    del m.release_locks[key]
            base = project or ProjectRecord(name=commit.project, state=ProjectState.PUBLISHED)
            m.projects[commit.project] = base.model_copy(
                update={"state": ProjectState.PUBLISHED, "serial": commit.serial}
            )
            m.render_due[commit.project] = commit.at
            if commit.list_project:
                m.listed.add(commit.project)
            if commit.has_files:
                m.commits[(commit.project, commit.holder)] = commit.serial
                if commit.published_by is not None:
                    key = (commit.project, commit.holder)
                    m.publishers[key] = (commit.version, commit.published_by)

    def release_publishers(self, project: str) -> dict[str, ReleasePublisher]:
        return {v: by for (p, _), (v, by) in self._m.publishers.items() if p == project}

    def committed_files(self, project: str) -> list[FileEntry]:
        return [
            entry
            for (p, _), (holder, entry) in sorted(self._m.release_files.items())
            if p == project and (project, holder) in self._m.commits
        ]

    def published_file(self, project: str, filename: str) -> FileEntry | None:
        found = self._m.release_files.get((project, filename))
        if found is None or (project, found[0]) not in self._m.commits:
            return None
        return found[1]

    def mark_rendered(self, project: str, serial: int) -> None:
        m = self._m
        with m.lock:
            record = m.projects.get(project)
            if record is None or record.rendered_serial > serial:
                return
            m.projects[project] = record.model_copy(update={"rendered_serial": serial})
            if record.serial <= serial:
                m.render_due.pop(project, None)

    def render_due(self, before: datetime) -> list[str]:
        return [p for p, at in sorted(self._m.render_due.items()) if at < before]

    def set_yanked(self, project: str, filenames: Iterable[str], reason: str | None) -> None:
        from dataclasses import replace

        with self._m.lock:
            for name in filenames:
                holder, entry = self._m.release_files[(project, name)]
                self._m.release_files[(project, name)] = (holder, replace(entry, yanked=reason))

    def set_uploaders_cancel_own(self, project: str, allowed: bool) -> None:
        with self._m.lock:
            record = self._m.projects.get(project)
            if record is None:
                raise NotFoundError(f"No project named {project!r}.")
            self._m.projects[project] = record.model_copy(update={"uploaders_cancel_own": allowed})

    def raise_serial(
        self,
        project: str,
        *,
        at: datetime,
        status: ProjectStatus | None = None,
        reason: str | None = None,
        set_status: bool = False,
    ) -> int:
        with self._m.lock:
            record = self._m.projects.get(project)
            if record is None or not record.published:
                raise ConflictError(f"{project!r} is not a published project.")
            serial = self.next_serial()
            self._m.render_due[project] = at
            update: dict[str, Any] = {"serial": serial}
            if set_status:
                update.update(status=status or ProjectStatus.ACTIVE, status_reason=reason)
            self._m.projects[project] = record.model_copy(update=update)
            return serial


@dataclass
class Bucket:
    """The bucket's objects and multipart uploads, and the S3 events of the staging prefix."""

    objects: dict[str, tuple[bytes, dict[str, str], str]] = field(default_factory=dict)
    uploads: dict[str, tuple[str, dict[int, bytes]]] = field(default_factory=dict)
    events: list[tuple[str, int]] = field(default_factory=list)
    lock: threading.RLock = field(default_factory=threading.RLock)
    counter: int = 0

    def store(self, key: str, body: bytes, metadata: dict[str, str] | None = None) -> str:
        with self.lock:
            etag = f'"{hashlib.md5(body).hexdigest()}"'
            self.objects[key] = (body, dict(metadata or {}), etag)
            if key.startswith(STAGING_PREFIX):
                self.events.append((key, len(body)))
            return etag

    def take_events(self) -> list[tuple[str, int]]:
        with self.lock:
            events, self.events = self.events, []
            return events


class InMemoryObjectStore:
    def __init__(self, bucket: Bucket) -> None:
        self._b = bucket

    def get(self, key: str) -> StoredObject | None:
        found = self._b.objects.get(key)
        if found is None:
            return None
        body, metadata, etag = found
        return StoredObject(body=body, etag=etag, metadata=dict(metadata))

    def put(self, key: str, body: bytes, *, content_type: str, metadata: dict[str, str]) -> None:
        self._b.store(key, body, metadata)

    def put_if_newer(self, key: str, body: bytes, *, content_type: str, serial: int) -> bool:
        with self._b.lock:
            found = self._b.objects.get(key)
            if found is not None and int(found[1].get("last-serial", "-1")) >= serial:
                return False
            self._b.store(key, body, {"last-serial": str(serial)})
            return True

    def copy(self, source_key: str, dest_key: str) -> None:
        with self._b.lock:
            body, metadata, _ = self._b.objects[source_key]
            self._b.store(dest_key, body, metadata)

    def presigned_get(
        self, key: str, *, expires: int, filename: str | None = None, immutable: bool = False
    ) -> str:
        return f"memory://bucket/{key}?expires={expires}" + ("&immutable" if immutable else "")


class InMemoryStaging:
    def __init__(self, bucket: Bucket) -> None:
        self._b = bucket

    def start_upload(self, key: str, *, checksums: bool = True) -> str:
        with self._b.lock:
            self._b.counter += 1
            upload_id = f"upload-{self._b.counter}"
            self._b.uploads[upload_id] = (key, {})
            return upload_id

    def presign_part(self, key: str, upload_id: str, number: int, expires: int) -> str:
        return f"memory://bucket/{key}?uploadId={upload_id}&partNumber={number}"

    def put_part(self, key: str, upload_id: str, number: int, body: bytes) -> None:
        with self._b.lock:
            self._b.uploads[upload_id][1][number] = body

    def parts(self, key: str, upload_id: str) -> list[tuple[int, int, str]]:
        held = self._b.uploads.get(upload_id, (key, {}))[1]
        return [
            (n, len(body), f'"{hashlib.md5(body).hexdigest()}"') for n, body in sorted(held.items())
        ]

    def finish_upload(self, key: str, upload_id: str) -> None:
        with self._b.lock:
            _, held = self._b.uploads.pop(upload_id)
            self._b.store(key, b"".join(body for _, body in sorted(held.items())))

    def abort_upload(self, key: str, upload_id: str) -> None:
        self._b.uploads.pop(upload_id, None)

    def delete_prefix(self, prefix: str) -> None:
        with self._b.lock:
            for key in [k for k in self._b.objects if k.startswith(prefix)]:
                del self._b.objects[key]

    def object_info(self, key: str) -> tuple[int, str] | None:
        found = self._b.objects.get(key)
        return (len(found[0]), found[2]) if found else None

    def source(self, key: str, size: int, etag: str) -> BytesSource:
        return BytesSource(self._b.objects[key][0])

    def put_bytes(self, key: str, body: bytes, content_type: str) -> None:
        self._b.store(key, body)

    def open(self, key: str) -> BinaryIO:
        return io.BytesIO(self._b.objects[key][0])


class InMemoryReviewStore:
    def __init__(self) -> None:
        self._lock = threading.RLock()
        self.reviews: dict[str, ReviewRecord] = {}
        self.policies: dict[str, ReviewPolicy] = {}

    def open_review(self, record: ReviewRecord) -> ReviewRecord:
        with self._lock:
            return self.reviews.setdefault(record.review_id, record)

    def get_review(self, review_id: str) -> ReviewRecord | None:
        return self.reviews.get(review_id)

    def add_verdict(self, review_id: str, reviewer: str, verdict: ReviewVerdict) -> ReviewRecord:
        with self._lock:
            current = self.reviews.get(review_id)
            if current is None:
                raise StateChangedError("There is no such review.", current=None)
            if current.state is not ReviewState.OPEN:
                raise StateChangedError("The review took no verdict.", current=str(current.state))
            if reviewer in current.verdicts:
                raise StateChangedError("The review took no verdict.", current="decided")
            moved = current.model_copy(update={"verdicts": {**current.verdicts, reviewer: verdict}})
            self.reviews[review_id] = moved
            return moved

    def close_review(self, review_id: str, state: ReviewState, *, at: datetime) -> bool:
        with self._lock:
            current = self.reviews.get(review_id)
            if current is None or current.state is not ReviewState.OPEN:
                return False
            self.reviews[review_id] = current.model_copy(update={"state": state, "closed_at": at})
            return True

    def due_reviews(self, now: datetime) -> list[ReviewRecord]:
        due = [r for r in self.reviews.values() if r.state is ReviewState.OPEN and r.deadline < now]
        return sorted(due, key=lambda r: (r.deadline, r.review_id))

    def open_reviews(self, limit: int) -> list[ReviewRecord]:
        live = [r for r in self.reviews.values() if r.state is ReviewState.OPEN]
        return sorted(live, key=lambda r: (r.deadline, r.review_id))[:limit]

    def policy(self, project: str) -> ReviewPolicy | None:
        return self.policies.get(project)

    def set_policy(self, project: str, policy: ReviewPolicy) -> None:
        self.policies[project] = policy


class InMemoryReviewQueue:
    """The announcements sent, in order, for a test (or a fake reviewer) to read."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []

    def announce(self, message: Mapping[str, Any]) -> None:
        self.messages.append(dict(message))


class InMemoryPageStore:
    def __init__(self) -> None:
        self._releases: dict[tuple[str, str], ReleaseDoc] = {}
        self._counts: dict[tuple[str, date, str], int] = {}
        self._browsers: dict[str, BrowserSession] = {}
        self._summaries: dict[str, tuple[str, datetime]] = {}
        self._lock = threading.Lock()

    def set_summary(self, project: str, summary: str, *, at: datetime) -> None:
        with self._lock:
            current = self._summaries.get(project)
            if current is None or current[1] <= at:
                self._summaries[project] = (summary, at)

    def summaries(self) -> dict[str, str]:
        return {name: summary for name, (summary, _) in self._summaries.items()}

    def put_release(self, doc: ReleaseDoc) -> None:
        with self._lock:
            self._releases[(doc.project, doc.version)] = doc

    def releases(self, project: str) -> list[ReleaseDoc]:
        return [doc for (p, _), doc in list(self._releases.items()) if p == project]

    def count_download(self, project: str, version: str, day: date, *, expire_at: datetime) -> None:
        with self._lock:
            key = (project, day, version)
            self._counts[key] = self._counts.get(key, 0) + 1

    def downloads(self, project: str, since: date) -> dict[str, int]:
        counts: dict[str, int] = {}
        for (p, day, version), n in list(self._counts.items()):
            if p == project and day >= since:
                counts[version] = counts.get(version, 0) + n
        return counts

    def add_browser_session(self, record: BrowserSession) -> None:
        with self._lock:
            if record.id_hash in self._browsers:
                raise ConflictError("A browser session with this id exists.")
            self._browsers[record.id_hash] = record

    def browser_session(self, id_hash: str) -> BrowserSession | None:
        return self._browsers.get(id_hash)

    def end_browser_session(self, id_hash: str) -> None:
        with self._lock:
            self._browsers.pop(id_hash, None)


def memory_stores() -> tuple[GivenStores, Memory, Bucket]:
    """One in-memory implementation of every port, sharing one memory and one bucket."""
    memory, bucket, audit = Memory(), Bucket(), InMemoryAuditLog()
    stores = GivenStores(
        sessions=InMemorySessionRepository(memory),
        filenames=InMemoryFilenameRegistry(memory),
        catalog=InMemoryCatalog(memory),
        tokens=InMemoryTokenStore(audit),
        audit=audit,
        objects=InMemoryObjectStore(bucket),
        staging=InMemoryStaging(bucket),
        publishers=InMemoryTrustedPublisherStore(audit),
        replay=InMemoryReplayGuard(),
        reviews=InMemoryReviewStore(),
        review_queue=InMemoryReviewQueue(),
        pages=InMemoryPageStore(),
    )
    return stores, memory, bucket


@dataclass
class RecordedMetrics:
    """The ``Metrics`` port in memory: every data point, in order."""

    points: list[tuple[str, float, str, dict[str, str]]] = field(default_factory=list)

    def emit(
        self,
        name: str,
        value: float = 1,
        *,
        unit: str = "Count",
        dimensions: Mapping[str, str] | None = None,
    ) -> None:
        self.points.append((name, value, unit, dict(dimensions or {})))

    def named(self, name: str) -> list[tuple[str, float, str, dict[str, str]]]:
        return [point for point in self.points if point[0] == name]


def lambda_sqs_attributes(receive_count: int = 1) -> dict[str, str]:
    """The ``attributes`` of an SQS record as Lambda's event source mapping hands it over."""
    return {
        "ApproximateReceiveCount": str(receive_count),
        "SentTimestamp": "978350400000",
        "SenderId": "AIDAEXAMPLE",
        "ApproximateFirstReceiveTimestamp": "978350400001",
    }


class Counted:
    """A port that records which of its methods were called (and passes them on)."""

    def __init__(self, inner: object, calls: list[str]) -> None:
        self._inner = inner
        self._calls = calls

    def __getattr__(self, name: str):
        attribute = getattr(self._inner, name)
        if not callable(attribute):
            return attribute

        def call(*args, **kwargs):
            self._calls.append(name)
            return attribute(*args, **kwargs)

        return call
