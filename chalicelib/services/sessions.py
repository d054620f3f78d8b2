"""Publishing sessions (PEP 694): create, read, cancel, extend, and expire them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from ..domain.audit import SYSTEM, AuditKind, session_key, session_ref
from ..domain.catalog import ProjectRecord, ProjectState, ProjectStatus
from ..domain.errors import (
    AlreadyPublishedError,
    MissingPermissionError,
    NotFoundError,
    PermissionDeniedError,
    SessionExistsError,
    SessionNotEditableError,
    StateChangedError,
)
from ..domain.layout import STAGING_METADATA_PREFIX, STAGING_PREFIX
from ..domain.lifecycle import CANCEL, EXPIRE, SESSIONS, FileStatus, SessionStatus
from ..domain.sessions import (
    CreatedVia,
    FileRecord,
    SessionRecord,
    new_session_token,
    parse_project_name,
    parse_release_version,
    release_key,
)
from ..observability import logger
from .permissions import require_actor
from .stored_bytes import discard_bytes

if TYPE_CHECKING:
    from ..domain.ports import Catalog, Clock, FilenameRegistry, SessionRepository, StagingStorage
    from ..domain.tokens import Principal
    from .audit import AuditTrail


@dataclass(frozen=True)
class SessionPolicy:
    lifetime: timedelta
    max_lifetime: timedelta
    retention: timedelta
    allow_local_versions: bool


@dataclass(frozen=True)
class FileEntry:
    """A file of a session with the status it has now (canceled with its session)."""

    record: FileRecord
    status: FileStatus


@dataclass(frozen=True)
class SessionView:
    """A session and its files as of one read, with the status each has at that moment.

    The status is worked out here, with the service's clock, so every layer above shows
    the same answer for the same instant.
    """

    session: SessionRecord
    status: SessionStatus
    files: list[FileEntry]


class PublishingSessions:
    def __init__(
        self,
        store: SessionRepository,
        catalog: Catalog,
        filenames: FilenameRegistry,
        staging: StagingStorage,
        clock: Clock,
        audit: AuditTrail,
        policy: SessionPolicy,
    ) -> None:
        self._audit = audit
        self._store = store
        self._catalog = catalog
        self._filenames = filenames
        self._staging = staging
        self._clock = clock
        self._policy = policy

    def create(
        self,
        principal: Principal,
        name: str,
        version: str,
        *,
        created_via: CreatedVia = CreatedVia.UPLOAD_2,
    ) -> SessionRecord:
        """Open a session for one release.

        403 comes before anything else is revealed; a release that already has a
        non-terminal session raises ``SessionExistsError`` carrying that session's token.
        """
        project = parse_project_name(name)
        if not principal.can_upload(project):
            raise PermissionDeniedError(f"This token may not upload to {project!r}.")
        parsed = parse_release_version(version, allow_local=self._policy.allow_local_versions)
        release = release_key(parsed)
        for _ in range(3):
            record_ = self._catalog.project(project)
            require_open_project(project, record_)
            state = record_.state if record_ else ProjectState.NEW
            now = self._clock()
            record = SessionRecord(
                token=new_session_token(),
                project=project,
                version=str(parsed),
                status=SessionStatus.OPEN,
                created_at=now,
                expires_at=now + self._policy.lifetime,
                max_expires_at=now + self._policy.max_lifetime,
                created_by=principal.token_id,
                created_via=created_via,
                reserves_project=state is not ProjectState.PUBLISHED,
            )
            try:
                self._store.create_session(record, release=release, project=state)
            except StateChangedError:
                continue  # the project was reserved or released meanwhile: decide again
            except SessionExistsError as error:
                self._expire_if_due(error.token)
                if self._store.open_session_for(project, release) is None:
                    continue
                raise
            self._audit.note(
                self._audit.event(
                    AuditKind.SESSION_OPENED,
                    session_key(record.token),
                    principal,
                    project=project,
                    version=record.version,
                    subject=session_ref(record.token),
                    details={"via": str(created_via)},
                )
            )
            logger.info(
                "publishing session created",
                extra={"project": project, "version": record.version, "session": _short(record)},
            )
            return record
        raise StateChangedError(
            "The project changed repeatedly while opening the session; try again."
        )

    def load(self, principal: Principal, token: str) -> SessionRecord:
        """The session, authorised for this principal now; expired sessions are canceled first.

        Unknown sessions, and terminal ones past their retention, are ``NotFoundError``.
        """
        session = self._store.get_session(token)
        if session is None:
            raise NotFoundError("No such publishing session.")
        if not principal.can_upload(session.project):
            raise PermissionDeniedError(f"This token may not upload to {session.project!r}.")
        session = self._expire_if_due(token, session) or session
        if session.terminal_at and self._clock() > session.terminal_at + self._policy.retention:
            raise NotFoundError("No such publishing session.")
        return session

    def load_live(self, principal: Principal, token: str) -> SessionRecord:
        """The session for a data-bearing request: a canceled session's data URLs 404."""
        session = self.load(principal, token)
        if session.effective_status(self._clock()) is SessionStatus.CANCELED:
            raise NotFoundError("The publishing session was canceled; its data is gone.")
        return session

    def view(self, principal: Principal, token: str) -> SessionView:
        return self._view(self.load(principal, token))

    def list_live(self, principal: Principal, *, limit: int) -> list[SessionView]:
        """Live (non-terminal, unexpired) sessions of the projects ``principal`` may upload
        to (an admin: all), soonest expiry first, at most ``limit`` of them."""
        views: list[SessionView] = []
        for session in self._store.live_sessions(self._clock()):
            if len(views) == limit:
                break
            if principal.can_upload(session.project):
                views.append(self._view(session))
        return views

    def _view(self, session: SessionRecord) -> SessionView:
        now = self._clock()
        return SessionView(
            session=session,
            status=self._visible_status(session, now),
            files=[
                FileEntry(record=f, status=f.effective_status(session, now))
                for f in self._store.list_files(session.token)
            ],
        )

    def _visible_status(self, session: SessionRecord, now: datetime) -> SessionStatus:
        """So a CI job that installs right after its upload finishes finds the release."""
        rendered = 0
        if session.published_serial is not None:
            project = self._catalog.project(session.project)
            rendered = project.rendered_serial if project else 0
        return session.visible_status(now, rendered)

    def cancel(self, principal: Principal, token: str) -> SessionView:
        session = self.load(principal, token)
        project = self._catalog.project(session.project)
        self.authorize(
            principal,
            CANCEL,
            session,
            own_cancel_allowed=project is not None and project.uploaders_cancel_own,
        )
        status = session.effective_status(self._clock())
        if status is SessionStatus.PUBLISHED:
            raise AlreadyPublishedError("The session is already published.")
        if status is SessionStatus.PROCESSING:
            raise SessionNotEditableError(
                "The session is being published; it can no longer be canceled."
            )
        if not SESSIONS.permits(CANCEL, status):
            raise SessionNotEditableError(f"The session is already {status}.")
        try:
            session = self._terminate(session, CANCEL, "canceled by the publisher", principal)
        except StateChangedError as error:
            raise StateChangedError(
                "The session changed while it was being canceled.", current=error.current
            ) from error
        return self._view(session)

    def extend(self, principal: Principal, token: str, seconds: int) -> SessionView:
        """Push expiry later by up to ``seconds``, capped by the session's maximum lifetime.

        A refused or partial extension is still a success (PEP 694); expiry never moves earlier.
        """
        session = self.load_live(principal, token)
        status = session.effective_status(self._clock())
        if status.terminal:
            raise SessionNotEditableError(f"The session is {status}; it cannot be extended.")
        # Never more than the maximum lifetime: also keeps absurd values (10**12 s) from
        # overflowing the date arithmetic.
        seconds = min(seconds, int(self._policy.max_lifetime.total_seconds()))
        wanted = min(session.expires_at + timedelta(seconds=seconds), session.max_expires_at)
        if wanted > session.expires_at:
            session = self._store.extend_session(session, wanted)
        return self._view(session)

    def expire_due(self) -> int:
        """Cancel every session whose expiry has passed (the scheduled sweeper), and finish
        the clean-up of canceled sessions that a failure cut short. Idempotent."""
        count = 0
        for token in self._store.due_sessions(self._clock()):
            if self._expire_if_due(token) is not None:
                count += 1
        for token in self._store.purge_due():
            session = self._store.get_session(token)
            if session is not None:
                self._clean_up(session)
        return count

    def _expire_if_due(
        self, token: str, session: SessionRecord | None = None
    ) -> SessionRecord | None:
        """The session canceled now if it is past its expiry (``None`` if it is not).
        ``session`` is the record just read, when the caller has it; the conditional
        write refuses a stale one."""
        session = session or self._store.get_session(token)
        if session is None or not session.status.editable:
            return None
        if self._clock() < session.expires_at:
            return None
        try:
            return self._terminate(session, EXPIRE, "the session expired")
        except StateChangedError:
            return self._store.get_session(token)

    def authorize(
        self,
        principal: Principal,
        transition: str,
        session: SessionRecord,
        *,
        own_cancel_allowed: bool = False,
    ) -> None:
        """``require_actor``, with a refusal recorded in the audit trail."""
        try:
            require_actor(
                principal, SESSIONS[transition], session, own_cancel_allowed=own_cancel_allowed
            )
        except MissingPermissionError as error:
            self._audit.note(
                self._audit.event(
                    AuditKind.PERMISSION_DENIED,
                    f"{session_key(session.token)}:{transition}:{principal.token_id}:"
                    f"{self._clock().isoformat()}",
                    principal,
                    project=session.project,
                    version=session.version,
                    subject=session_ref(session.token),
                    reason=f"{transition} needs the {error.permission!r} permission",
                )
            )
            raise

    def _terminate(
        self,
        session: SessionRecord,
        transition: str,
        reason: str,
        by: Principal | None = None,
    ) -> SessionRecord:
        now = self._clock()
        finished = self._store.finish_session(
            session,
            transition,
            at=now,
            keep_until=now + self._policy.retention,
            notices=[reason],
        )
        kind = AuditKind.SESSION_CANCELED if transition == CANCEL else AuditKind.SESSION_EXPIRED
        self._audit.note(
            self._audit.event(
                kind,
                session_key(session.token),
                by or SYSTEM,
                project=session.project,
                version=session.version,
                subject=session_ref(session.token),
                reason=reason,
            )
        )
        self._clean_up(session)
        logger.info(
            "publishing session canceled", extra={"session": _short(session), "reason": reason}
        )
        return finished

    def _clean_up(self, session: SessionRecord) -> None:
        """Free what a canceled session held; until this finishes the session stays on the
        sweeper's list (a failure half-way is picked up by its next run)."""
        # A publish that failed half-way may have left names reserved: free them.
        self._filenames.release(
            session.token, [f.filename for f in self._store.list_files(session.token)]
        )
        self.purge(session.token)
        self._store.mark_purged(session.token)

    def purge(self, token: str) -> None:
        """Abort the session's multipart uploads and delete its bytes (never those a
        published release serves). Idempotent."""
        session = self._store.get_session(token)
        for record in self._store.list_files(token):
            if session is not None:
                discard_bytes(self._staging, self._catalog, session.project, record)
            elif record.upload_id:
                self._staging.abort_upload(record.staged_key, record.upload_id)
        self._staging.delete_prefix(f"{STAGING_PREFIX}{token}/")
        self._staging.delete_prefix(f"{STAGING_METADATA_PREFIX}{token}/")


def require_open_project(project: str, record: ProjectRecord | None) -> None:
    """Raise ``PermissionDeniedError`` (403, as PyPI answers for archived projects) when the
    project's PEP 792 status closes it to uploads; every door calls this before taking a file."""
    status = record.status if record else ProjectStatus.ACTIVE
    if status.closed:
        raise PermissionDeniedError(
            f"The project {project!r} is {status}; it accepts no new uploads. An admin can "
            "set its status back to active.",
            errors=[{"source": "project", "code": "project-closed", "message": status}],
        )


def _short(session: SessionRecord) -> str:
    """Enough of the token to follow a session in the logs without handing out its stage URL."""
    return session.token[:8]
