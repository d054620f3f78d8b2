"""What the session services need from storage: DynamoDB state and S3 staging."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from enum import StrEnum
from typing import BinaryIO, Protocol

from .sessions import FileRecord, FileStatus, SessionRecord, SessionStatus


class StorageReadError(Exception):
    """Storage failed to serve an object's bytes. Deliberately not an OSError: archive readers
    treat those as a broken file, while this must propagate so the event is retried."""


class ProjectState(StrEnum):
    NEW = "new"  # no record: nobody has published or reserved the name
    RESERVED = "reserved"  # held by the open sessions of its first release
    ACTIVE = "active"  # published


class SessionStore(Protocol):
    def project_state(self, project: str) -> ProjectState:
        """Whether the project name is free, reserved or published (consistent read)."""

    def rendered_serial(self, project: str) -> int:
        """The serial up to which the project's index pages are rendered (0 if never)."""

    def project_status(self, project: str) -> str:
        """The project's PEP 792 status ("active" when it has none, or no record yet)."""

    def open_session_for(self, project: str, release: str) -> str | None:
        """The token of the non-terminal session for this release, if any."""

    def create_session(self, record: SessionRecord, *, release: str, project: ProjectState) -> None:
        """Store a new open session, lock its release, reserve or check the project name.

        Raises ``SessionExistsError`` when the release has a non-terminal session and
        ``StateChangedError`` when the project's state is no longer ``project`` (or an
        active project was archived or quarantined meanwhile).
        """

    def get_session(self, token: str) -> SessionRecord | None:
        """The session, read consistently."""

    def finish_session(
        self,
        session: SessionRecord,
        status: SessionStatus,
        *,
        allowed_from: Iterable[SessionStatus],
        at: datetime,
        keep_until: datetime,
        notices: Iterable[str] = (),
    ) -> SessionRecord:
        """Move a session to a terminal status, unlock its release, release its name reservation.

        Raises ``StateChangedError`` unless its status is one of ``allowed_from``.
        """

    def extend_session(self, session: SessionRecord, expires_at: datetime) -> SessionRecord:
        """Move ``expires_at`` later (never earlier) while the session is not terminal."""

    def due_sessions(self, now: datetime) -> list[str]:
        """Tokens of non-terminal sessions whose expiry has passed."""

    def purge_due(self) -> list[str]:
        """Tokens of canceled sessions whose staged bytes may not all be deleted yet."""

    def mark_purged(self, token: str) -> None:
        """Record that a canceled session's bytes and reservations are all gone."""

    def open_sessions(self) -> list[SessionRecord]:
        """Every non-terminal session."""

    def live_sessions(self, now: datetime) -> Iterator[SessionRecord]:
        """Non-terminal sessions expiring after ``now``, soonest first (may lag a moment)."""

    def stuck_files(self, before: datetime) -> list[FileRecord]:
        """Files that entered ``processing`` before ``before`` and are still there."""

    def filename_taken(self, filename: str) -> bool:
        """Whether the filename was ever published, or is reserved by a publish in progress."""

    def add_file(self, session: SessionRecord, record: FileRecord) -> None:
        """Add a file upload session; ``ConflictError`` if the filename is in use in the session
        or the session stopped accepting changes."""

    def get_file(self, token: str, file_id: str) -> FileRecord | None:
        """One file upload session, read consistently."""

    def list_files(self, token: str) -> list[FileRecord]:
        """Every file upload session of a publishing session, oldest first."""

    def set_file_status(
        self,
        record: FileRecord,
        status: FileStatus,
        *,
        expected: Iterable[FileStatus],
        at: datetime,
        **changes: object,
    ) -> FileRecord:
        """Change a file's status and fields; ``StateChangedError`` unless it is in ``expected``."""

    def release_reservations(self, token: str, filenames: Iterable[str]) -> None:
        """Drop filename reservations the session holds and never published."""

    def record_progress(self, record: FileRecord, parts: int, size: int) -> None:
        """Note how many parts and bytes S3 holds for a pending file."""

    def cancel_file(self, session: SessionRecord, record: FileRecord, *, at: datetime) -> None:
        """Cancel a file and free its filename in the session; ``StateChangedError`` if it moved
        to ``processing`` or the session stopped accepting changes."""


class StagingStorage(Protocol):
    """S3 multipart uploads under the staging prefix, and what validation reads and writes."""

    def start_upload(self, key: str, *, checksums: bool = True) -> str:
        """Open a multipart upload at ``key`` (parts with SHA-256 checksums); its upload id."""

    def presign_part(self, key: str, upload_id: str, number: int, expires: int) -> str:
        """A URL that lets its holder PUT one part, for ``expires`` seconds."""

    def put_part(self, key: str, upload_id: str, number: int, body: bytes) -> None:
        """Upload one part (replacing any part with that number)."""

    def parts(self, key: str, upload_id: str) -> list[tuple[int, int, str]]:
        """The parts S3 holds: (number, size, etag), in order."""

    def finish_upload(self, key: str, upload_id: str) -> None:
        """Complete the multipart upload so the object appears (and its event fires)."""

    def abort_upload(self, key: str, upload_id: str) -> None:
        """Abort a multipart upload; no error if it is already gone."""

    def delete_prefix(self, prefix: str) -> None:
        """Delete every object (all versions) under ``prefix``."""

    def object_info(self, key: str) -> tuple[int, str] | None:
        """(size, etag) of an object, or ``None``."""

    def source(self, key: str, size: int, etag: str) -> object:
        """A ``ByteSource`` over one object version."""

    def put_bytes(self, key: str, body: bytes, content_type: str) -> None:
        """Write a small object."""

    def open(self, key: str) -> BinaryIO:
        """Read an object."""
