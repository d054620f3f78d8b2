"""Publishing: atomic releases, and the static index rendered from the table."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from ..domain.audit import SYSTEM, AuditKind, ReleasePublisher, session_key, session_ref
from ..domain.catalog import ReleaseCommit
from ..domain.clock import iso
from ..domain.errors import (
    AlreadyPublishedError,
    FilesNotCompletedError,
    SessionNotEditableError,
    StateChangedError,
)
from ..domain.filenames import DistKind, parse_filename
from ..domain.identity import PublisherIdentity
from ..domain.index import (
    FileEntry,
    ProjectListing,
    ProjectPage,
    RootIndex,
    render_project_html,
    render_project_json,
    render_root_html,
    render_root_json,
)
from ..domain.layout import (
    ROOT_INDEX_HTML,
    ROOT_INDEX_JSON,
    STAGING_METADATA_PREFIX,
    STAGING_PREFIX,
    project_index_keys,
    publish_request_key,
    published_key,
    published_provenance_key,
    stored_folder,
)
from ..domain.lifecycle import FILES, PUBLISH, SESSIONS
from ..domain.sessions import FileRecord, FileStatus, SessionRecord, SessionStatus
from ..observability import logger
from .sessions import PublishingSessions, SessionView, require_open_project

if TYPE_CHECKING:
    from ..domain.ports import (
        Catalog,
        Clock,
        FilenameRegistry,
        Metrics,
        ObjectStore,
        SessionRepository,
        StagingStorage,
    )
    from ..domain.tokens import Principal
    from .audit import AuditTrail

HTML = "text/html; charset=utf-8"
JSON = "application/vnd.pypi.simple.v1+json"


# The pages' render step (services/pages.py): (project, version, token id, core metadata,
# trusted-publisher identity) of a release just committed. It must never raise.
ReleaseHook = Callable[[str, str, str, bytes | None, PublisherIdentity | None], None]


@dataclass(frozen=True)
class PublishPolicy:
    final_attempt: int  # the queue's maxReceiveCount: the last delivery turns failure into error
    retention: timedelta  # how long a published session keeps answering its status URL
    public_url: str | None = None  # absolute provenance links in the index need it


def _entry(record: FileRecord, version: str) -> FileEntry:
    wheel = parse_filename(record.filename).kind is DistKind.WHEEL
    stamp = record.completed_at or record.created_at
    return FileEntry(
        filename=record.filename,
        version=version,
        size=record.size,
        sha256=record.digests["sha256"],
        upload_time=iso(stamp),
        requires_python=record.requires_python,
        # PEP 658 metadata is served for wheels, as on PyPI.
        metadata_sha256=record.metadata_sha256 if wheel else None,
        provenance_publisher=record.provenance_publisher if record.provenance_key else None,
    )


class Publisher:
    def __init__(
        self,
        sessions: PublishingSessions,
        store: SessionRepository,
        catalog: Catalog,
        filenames: FilenameRegistry,
        staging: StagingStorage,
        objects: ObjectStore,
        clock: Clock,
        policy: PublishPolicy,
        audit: AuditTrail,
        metrics: Metrics,
        on_release: ReleaseHook | None = None,
    ) -> None:
        self._metrics = metrics
        self._audit = audit
        self._on_release = on_release
        self._sessions = sessions
        self._store = store
        self._catalog = catalog
        self._filenames = filenames
        self._staging = staging
        self._objects = objects
        self._clock = clock
        self._policy = policy

    # --- the request ----------------------------------------------------------------------

    def request(self, principal: Principal, token: str) -> SessionView:
        """``publish``: reserve every filename and hand the session to the publisher (202).

        ``FilesNotCompletedError`` names each file that is not completed,
        ``FilenameTakenError`` each name taken; ``AlreadyPublishedError`` when there is
        nothing left to do.
        """
        session = self._sessions.load_live(principal, token)
        self._sessions.authorize(principal, PUBLISH, session)
        status = session.effective_status(self._clock())
        if status is SessionStatus.PUBLISHED:
            raise AlreadyPublishedError("The session is already published.")
        if not SESSIONS.permits(PUBLISH, status):
            raise SessionNotEditableError(f"The session is {status}; it cannot be published now.")
        # A session opened before an admin archived or quarantined the project.
        require_open_project(session.project, self._catalog.project(session.project))
        files = [f for f in self._store.list_files(token) if f.status is not FileStatus.CANCELED]
        unready = [f for f in files if f.status is not FileStatus.COMPLETED]
        if unready:
            raise FilesNotCompletedError(
                "Every file must be completed before publishing: "
                + ", ".join(f"{f.filename} is {FILES.shown(f.status)}" for f in unready)
                + ".",
                errors=[{"source": f.filename, "message": FILES.shown(f.status)} for f in unready],
            )
        by = ReleasePublisher(token_id=principal.token_id, publisher=principal.publisher)
        try:
            self._store.begin_publish(session, [f.filename for f in files], at=self._clock(), by=by)
        except StateChangedError as error:
            raise StateChangedError(
                "The session changed while publishing; try again.", current=error.current
            ) from error
        self._audit.note(
            self._audit.event(
                AuditKind.PUBLISH_REQUESTED,
                session_key(token),
                principal,
                project=session.project,
                version=session.version,
                subject=session_ref(token),
                details={"files": str(len(files))},
            )
        )
        self._staging.put_bytes(
            publish_request_key(token),
            json.dumps({"session": token, "requested_at": iso(self._clock())}).encode(),
            "application/json",
        )
        return self._sessions.view(principal, token)

    # --- the publisher (event) ------------------------------------------------------------

    def run(self, token: str, *, attempt: int = 1) -> str:
        """Publish a session in ``processing``; idempotent, so a retried event converges.

        On the queue's last attempt a failure releases the reservations and leaves the
        session in ``error`` with notices instead of raising.
        """
        session = self._store.get_session(token)
        if session is None:
            return "ignored: no such session"
        if session.status is SessionStatus.PUBLISHED:
            # Redo the steps after the commit, in case a crash cut them short.
            completed = [
                f for f in self._store.list_files(token) if f.status is FileStatus.COMPLETED
            ]
            names = [f.filename for f in completed]
            self._filenames.mark_published(token, names, self._clock())
            # The pages' render step, redone while the staged metadata is still there (a
            # crash cut in before the staged bytes were deleted); it is idempotent.
            metadata = self._release_metadata(completed)
            if metadata is not None:
                self._describe(session, metadata)
            self.render_project(session.project)
            self.render_root()
            if session.published_serial is not None:
                self._catalog.mark_rendered(session.project, session.published_serial)
            return "already published: re-rendered"
        if session.status is not SessionStatus.PROCESSING:
            return f"ignored: the session is {session.status}"
        files = [f for f in self._store.list_files(token) if f.status is FileStatus.COMPLETED]
        try:
            outcome = self._publish(session, files)
        except Exception as error:
            if attempt < self._policy.final_attempt:
                raise
            logger.exception("publish failed for good", extra={"session": token[:8]})
            failed = self._fail(
                token,
                session.project,
                [f.filename for f in files],
                [f"publishing failed ({type(error).__name__}); publish again to retry"],
            )
            if failed:
                self._metrics.emit("PublishesFailed")
            return "error" if failed else "published; a later step failed and will be redone"
        if outcome == "published":
            self._metrics.emit("Publishes")
            if session.publish_requested_at is not None:
                waited = self._clock() - session.publish_requested_at
                self._metrics.emit(
                    "PublishLatency", waited.total_seconds() * 1000, unit="Milliseconds"
                )
        elif outcome.startswith("error"):
            self._metrics.emit("PublishesFailed")
        return outcome

    def _fail(self, token: str, project: str, filenames: list[str], notices: list[str]) -> bool:
        """``fail-publish``, then release what the publish held. The status flips first and
        conditionally: a session that committed meanwhile is published and keeps everything."""
        if not self._store.fail_publish(token, notices):
            return False
        self._filenames.release(token, filenames)
        self._catalog.drop_release_files(project, token, filenames)
        return True

    def _publish(self, session: SessionRecord, files: list[FileRecord]) -> str:
        project, version, token = session.project, session.version, session.token
        holders = self._filenames.holders([f.filename for f in files])
        lost = [n for n, h in holders.items() if h != token]
        if lost:
            # Never copy over a name this session does not hold: another upload may own it.
            self._fail(
                token,
                project,
                [f.filename for f in files],
                [f"these filenames are no longer reserved for this session: {', '.join(lost)}"],
            )
            return "error: reservations lost"
        entries = []
        for record in files:
            entry = _entry(record, version)
            if stored_folder(record.staged_key) is None:
                # A session from before bytes were stored in place: copy them once more.
                self._objects.copy(record.staged_key, published_key(project, record.filename))
                if entry.metadata_sha256 and record.metadata_key:
                    self._objects.copy(
                        record.metadata_key, published_key(project, record.filename) + ".metadata"
                    )
            else:
                # The bytes and their metadata already sit where they are served from.
                entry = replace(entry, key=record.staged_key)
            if entry.provenance_publisher and record.provenance_key:
                # A few KB of JSON, kept at the Integrity API's own key (not the bytes).
                self._objects.copy(
                    record.provenance_key, published_provenance_key(project, record.filename)
                )
            entries.append(entry)

        def still_processing() -> bool:
            current = self._store.get_session(token)
            return current is not None and current.status is SessionStatus.PROCESSING

        serial = self.commit_release(
            project,
            version,
            token,
            entries,
            has_session=True,
            still_wanted=still_processing,
            published_by=session.publish_requested_by,
        )
        if serial is None:
            return "ignored: the session is no longer processing"
        # Before the staged metadata is deleted with the rest of the session's bytes.
        self._describe(session, self._release_metadata(files))
        self._staging.delete_prefix(f"{STAGING_PREFIX}{token}/")
        self._staging.delete_prefix(f"{STAGING_METADATA_PREFIX}{token}/")
        logger.info(
            "release published",
            extra={"project": project, "version": version, "files": len(entries), "serial": serial},
        )
        return "published"

    def commit_release(
        self,
        project: str,
        version: str,
        holder: str,
        entries: list[FileEntry],
        *,
        has_session: bool,
        still_wanted: Callable[[], bool] = lambda: True,
        published_by: ReleasePublisher | None = None,
    ) -> int | None:
        """Record ``entries`` (their bytes already where they are served), commit them as one
        release under a fresh serial, and render. Every step is idempotent. Returns the
        serial, or ``None`` when ``still_wanted`` says a lost race made the commit moot."""
        self._catalog.put_release_files(project, holder, entries)
        record = self._catalog.project(project)
        new_project = record is None or not record.published
        for _ in range(10):
            serial = self._catalog.next_serial()
            now = self._clock()
            try:
                self._catalog.commit(
                    ReleaseCommit(
                        project=project,
                        version=version,
                        holder=holder,
                        serial=serial,
                        at=now,
                        keep_until=now + self._policy.retention,
                        has_files=bool(entries),
                        via_session=has_session,
                        list_project=new_project,
                        published_by=published_by,
                    )
                )
                break
            except StateChangedError:
                if not still_wanted():
                    return None
        else:
            raise StateChangedError("could not commit: serials kept moving")
        self._filenames.mark_published(holder, [e.filename for e in entries], self._clock())
        # The commit's serial makes the id: a redelivered publish that commits nothing new
        # never gets here, one that lost its answer after committing records it once.
        self._audit.note(
            self._audit.event(
                AuditKind.RELEASE_PUBLISHED,
                f"{project}:{serial}",
                published_by.token_id if published_by else SYSTEM,
                publisher=published_by.publisher if published_by else None,
                project=project,
                version=version,
                subject=session_ref(holder) if has_session else entries[0].filename,
                details={"serial": str(serial), "files": ",".join(e.filename for e in entries)},
            )
        )
        self.render_project(project)
        if new_project:
            self.render_root()
        # Last: a session reads as published only from here on, when pip can install it.
        self._catalog.mark_rendered(project, serial)
        return serial

    # --- renders ----------------------------------------------------------------------------

    def _describe(self, session: SessionRecord, metadata: bytes | None) -> None:
        """The pages name who published: the token that asked for the publish (and the CI
        identity behind it), or, for sessions from before that was kept, the one that
        opened the session."""
        by = session.publish_requested_by
        self.describe_release(
            session.project,
            session.version,
            by.token_id if by else session.created_by,
            metadata,
            by.publisher if by else None,
        )

    def describe_release(
        self,
        project: str,
        version: str,
        token_id: str,
        metadata: bytes | None,
        publisher: PublisherIdentity | None = None,
    ) -> None:
        """Hand a committed release to the pages' render step (if one is wired)."""
        if self._on_release is not None:
            self._on_release(project, version, token_id, metadata, publisher)

    def _release_metadata(self, files: list[FileRecord]) -> bytes | None:
        """The core metadata of one of the release's files, a wheel's first."""
        ordered = sorted(files, key=lambda f: not f.filename.endswith(".whl"))
        for record in ordered:
            if record.metadata_key and self._staging.object_info(record.metadata_key):
                try:
                    with self._staging.open(record.metadata_key) as handle:
                        return handle.read()
                except Exception:
                    logger.exception("release metadata unreadable", extra={"file": record.file_id})
        return None

    def due_renders(self, before: datetime) -> list[str]:
        """Projects with a commit older than ``before`` that their pages do not show yet."""
        return self._catalog.render_due(before)

    def rerender(self, project: str) -> None:
        """Render a project's pages and the root again, and record how far they now reach.

        The serial is read before rendering, so the pages show at least that commit.
        """
        record = self._catalog.project(project)
        if record is not None:
            self.render_change(project, record.serial, root=True)

    def render_change(self, project: str, serial: int, *, root: bool = False) -> None:
        """Render the pages of a change up to ``serial`` (the root too, for a listing), and
        record that they reach it; until then the repair sweep would render them again."""
        self.render_project(project)
        if root:
            self.render_root()
        self._catalog.mark_rendered(project, serial)

    def project_page(self, project: str) -> ProjectPage | None:
        record = self._catalog.project(project)
        if record is None or not record.published:
            return None
        return ProjectPage(
            name=project,
            files=tuple(self._catalog.committed_files(project)),
            last_serial=record.serial,
            status=str(record.status),
            status_reason=record.status_reason,
            published_by={
                version: by.model_dump(mode="json", exclude_none=True)
                for version, by in self._catalog.release_publishers(project).items()
            },
            provenance_base=self._policy.public_url,
        )

    def render_project(self, project: str) -> None:
        page = self.project_page(project)
        if page is None:
            return
        html_key, json_key = project_index_keys(project)
        self._objects.put_if_newer(
            html_key, render_project_html(page), content_type=HTML, serial=page.last_serial
        )
        self._objects.put_if_newer(
            json_key, render_project_json(page), content_type=JSON, serial=page.last_serial
        )

    def render_root(self) -> None:
        # A serial taken now, before the list is read, orders renders by what they saw: a
        # later render never loses to an earlier one that missed a newer project.
        serial = self._catalog.next_serial()
        root = RootIndex(
            projects=tuple(ProjectListing(name=p) for p in self._catalog.listed_projects()),
            last_serial=serial,
        )
        self._objects.put_if_newer(
            ROOT_INDEX_HTML, render_root_html(root), content_type=HTML, serial=serial
        )
        self._objects.put_if_newer(
            ROOT_INDEX_JSON, render_root_json(root), content_type=JSON, serial=serial
        )
