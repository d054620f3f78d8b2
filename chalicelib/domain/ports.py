"""Ports: what the services need from storage, as Protocols with one-line contracts.

Services import these and nothing from ``adapters/``. Each port has a DynamoDB or S3
implementation in ``adapters/`` and an in-memory fake in ``tests/fakes.py``, and one
contract test module (tests/adapters/) runs against both.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, BinaryIO, Protocol

if TYPE_CHECKING:  # the inspector is imported only by the handlers that validate
    from .audit import AuditEvent, AuditPage, AuditQuery, ReleasePublisher
    from .catalog import FilenameClaim, ProjectRecord, ProjectState, ProjectStatus, ReleaseCommit
    from .index import FileEntry
    from .inspection.verdict import ByteSource
    from .review import ReviewPolicy, ReviewRecord, ReviewState, ReviewVerdict
    from .sessions import FileRecord, SessionRecord
    from .tokens import TokenRecord
    from .trusted_publishers import TrustedPublisher

Clock = Callable[[], datetime]


class StorageReadError(Exception):
    """Storage failed to serve an object's bytes. Deliberately not an OSError: archive readers
    treat those as a broken file, while this must propagate so the event is retried."""


@dataclass(frozen=True)
class Audited:
    """An audit event with the time DynamoDB may drop it (the retention setting)."""

    event: AuditEvent
    expire_at: datetime


class AuditLog(Protocol):
    """The append-only audit trail (domain/audit.py)."""

    def append(self, entry: Audited) -> bool:
        """Record the event unless one with its id is recorded; ``True`` if written now."""

    def count_failure(self, entry: Audited) -> None:
        """Add ``entry.event.count`` to the summary event with its id, creating it."""

    def page(
        self, query: AuditQuery, *, cursor: str | None, now: datetime, oldest: datetime
    ) -> AuditPage:
        """Events matching ``query`` in its order, at most ``query.limit``, from after
        ``cursor`` (a page's own); nothing older than ``oldest`` is looked for. A page
        may hold fewer events with a cursor still set (work per call is bounded);
        ``ValueError`` for a cursor this log did not hand out."""


class TokenStore(Protocol):
    def add(
        self, record: TokenRecord, *, expire_at: datetime | None, audit: Audited | None = None
    ) -> None:
        """Store a new token (and ``audit``, in the same write: both or neither); raises
        ``ConflictError`` if its hash is already stored."""

    def get_by_hash(self, secret_hash: str) -> TokenRecord | None:
        """The token with this secret hash, read consistently, or ``None``."""

    def get_by_id(self, token_id: str) -> TokenRecord | None:
        """The token with this public id, or ``None``."""

    def all(self) -> Iterator[TokenRecord]:
        """Every stored token, oldest first."""

    def revoke(
        self, secret_hash: str, at: datetime, *, expire_at: datetime, audit: Audited | None = None
    ) -> None:
        """Mark a live token revoked (and record ``audit`` in the same write); raises
        ``NotFoundError`` if absent or already revoked."""

    def touch(self, secret_hash: str, at: datetime, *, not_since: datetime) -> None:
        """Record a use at ``at`` unless one is recorded after ``not_since``; races are fine."""


@dataclass(frozen=True)
class StoredObject:
    body: bytes
    etag: str
    metadata: dict[str, str] = field(default_factory=dict)


class ObjectStore(Protocol):
    """Whole objects in the bucket: index pages, published files and their metadata."""

    def get(self, key: str) -> StoredObject | None:
        """The object at ``key``, or ``None`` when there is none."""

    def put(self, key: str, body: bytes, *, content_type: str, metadata: dict[str, str]) -> None:
        """Write the object at ``key``, replacing any that is there."""

    def put_if_newer(self, key: str, body: bytes, *, content_type: str, serial: int) -> bool:
        """Write a render unless the stored one carries a serial at least as new; ``False``
        when it does. Conditional, so an older render never replaces a newer one."""

    def copy(self, source_key: str, dest_key: str) -> None:
        """Copy an object inside the bucket (any size)."""

    def presigned_get(
        self, key: str, *, expires: int, filename: str | None = None, immutable: bool = False
    ) -> str:
        """A URL that lets its holder GET ``key`` for ``expires`` seconds (as ``filename``);
        ``immutable``: the bytes under ``key`` never change, and the answer says so, so that
        an installer's HTTP cache keeps it."""


class StagingStorage(Protocol):
    """Multipart uploads under the staging prefix, and what validation reads and writes."""

    def start_upload(self, key: str, *, checksums: bool = True) -> str:
        """Open a multipart upload at ``key`` (parts with SHA-256 checksums); its upload id."""

    def presign_part(self, key: str, upload_id: str, number: int, expires: int) -> str:
        """A URL that lets its holder PUT one part, for ``expires`` seconds."""

    def put_part(self, key: str, upload_id: str, number: int, body: bytes) -> None:
        """Upload one part (replacing any part with that number)."""

    def parts(self, key: str, upload_id: str) -> list[tuple[int, int, str]]:
        """The parts held: (number, size, etag), in order."""

    def finish_upload(self, key: str, upload_id: str) -> None:
        """Complete the multipart upload so the object appears (and its event fires)."""

    def abort_upload(self, key: str, upload_id: str) -> None:
        """Abort a multipart upload; no error if it is already gone."""

    def delete_prefix(self, prefix: str) -> None:
        """Delete every object (all versions) under ``prefix``."""

    def object_info(self, key: str) -> tuple[int, str] | None:
        """(size, etag) of an object, or ``None``."""

    def source(self, key: str, size: int, etag: str) -> ByteSource:
        """The object's bytes for the validator; reads fail with ``StorageReadError``."""

    def put_bytes(self, key: str, body: bytes, content_type: str) -> None:
        """Write a small object (its event fires under the staging prefix)."""

    def open(self, key: str) -> BinaryIO:
        """Read an object."""


class SessionRepository(Protocol):
    """Publishing sessions and their files. Every status write follows the lifecycle table
    (domain/lifecycle.py); a write the table does not allow from the current status raises
    ``StateChangedError`` carrying the status found."""

    def open_session_for(self, project: str, release: str) -> str | None:
        """The token of the non-terminal session for this release, if any."""

    def create_session(self, record: SessionRecord, *, release: str, project: ProjectState) -> None:
        """Store a new open session, lock its release, and reserve the name (``NEW``), join its
        reservation (``RESERVED``) or check it is published and open (``PUBLISHED``).

        ``SessionExistsError`` when the release has a non-terminal session;
        ``StateChangedError`` when the project is no longer in state ``project`` (or was
        archived or quarantined meanwhile).
        """

    def get_session(self, token: str) -> SessionRecord | None:
        """The session, read consistently."""

    def finish_session(
        self,
        session: SessionRecord,
        transition: str,
        *,
        at: datetime,
        keep_until: datetime,
        notices: Iterable[str] = (),
    ) -> SessionRecord:
        """``cancel`` or ``expire``: canceled, release unlocked, name hold dropped; the session
        stays on the purge list until ``mark_purged``."""

    def begin_publish(
        self,
        session: SessionRecord,
        filenames: list[str],
        *,
        at: datetime,
        by: ReleasePublisher | None = None,
    ) -> None:
        """``publish``: processing and every filename claimed, all or nothing, if the session is
        still at the revision read (``by`` recorded as who asked). ``FilenameTakenError``
        names the filenames taken."""

    def fail_publish(self, token: str, notices: list[str]) -> bool:
        """``fail-publish`` with ``notices``; ``False`` if the session was not processing."""

    def extend_session(self, session: SessionRecord, expires_at: datetime) -> SessionRecord:
        """Move ``expires_at`` later (never earlier) while the table allows ``extend``; returns
        the session as it is afterwards either way."""

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

    def add_file(self, session: SessionRecord, record: FileRecord) -> None:
        """``create`` a file; ``FileInSessionError`` if the session has one of that name (or an
        equivalent spelling), ``SessionNotEditableError`` unless the session allows ``edit``."""

    def get_file(self, token: str, file_id: str) -> FileRecord | None:
        """One file upload session, read consistently."""

    def list_files(self, token: str) -> list[FileRecord]:
        """Every file upload session of a publishing session, oldest first."""

    def stuck_files(self, before: datetime) -> list[FileRecord]:
        """Files that entered ``processing`` before ``before`` and are still there."""

    def move_file(
        self,
        record: FileRecord,
        transition: str,
        *,
        at: datetime,
        changes: Mapping[str, Any] | None = None,
    ) -> FileRecord:
        """Take a file through ``transition`` (setting ``changes``); the file afterwards."""

    def record_progress(self, record: FileRecord, parts: int, size: int) -> None:
        """Note how many parts and bytes are held, while the file is pending (else nothing)."""

    def cancel_file(self, session: SessionRecord, record: FileRecord, *, at: datetime) -> None:
        """``delete`` a file and free its name in the session, while the session allows
        ``edit``; ``StateChangedError`` otherwise."""


class FilenameRegistry(Protocol):
    """One claim per distinguishable filename, held by a publish and permanent once published."""

    def claim(self, filename: str) -> FilenameClaim | None:
        """The claim on ``filename`` or an equivalent spelling, read consistently."""

    def taken(self, filename: str) -> bool:
        """Whether the filename was ever published, or is held by a publish in progress."""

    def holders(self, filenames: Iterable[str]) -> dict[str, str | None]:
        """Who holds each filename's claim (``None``: nobody)."""

    def reserve_one(
        self, filename: str, holder: str, project: str, version: str, sha256: str, at: datetime
    ) -> FilenameClaim | None:
        """Claim one filename for ``holder``; ``None`` on success, else the claim found."""

    def release(self, holder: str, filenames: Iterable[str]) -> None:
        """Drop ``holder``'s unpublished claims; others' and published ones stay."""

    def mark_published(self, holder: str, filenames: Iterable[str], at: datetime) -> None:
        """Make ``holder``'s claims permanent."""


class Catalog(Protocol):
    """What is published: projects, release files, commits, serials, the project list."""

    def project(self, name: str) -> ProjectRecord | None:
        """The project's record (consistent read), or ``None`` for a name never used."""

    def published_serial(self, name: str) -> int | None:
        """A published project's serial (consistent read: the last change its pages must
        show), or ``None`` if it has no published release."""

    def listed_projects(self) -> list[str]:
        """The projects the root index lists."""

    def set_listed(self, project: str, listed: bool) -> None:
        """List or unlist a project on the root index."""

    def put_release_files(self, project: str, holder: str, entries: list[FileEntry]) -> None:
        """Write a release's files, invisible until committed; idempotent for ``holder``."""

    def drop_release_files(self, project: str, holder: str, filenames: Iterable[str]) -> None:
        """Delete ``holder``'s release files (a failed publish's)."""

    def next_serial(self) -> int:
        """A new index-wide serial, larger than every one handed out before."""

    def commit(self, commit: ReleaseCommit) -> None:
        """Make a release visible at once (with its session's ``commit`` transition, if any);
        ``StateChangedError`` if a newer serial won or the session is not processing."""

    def committed_files(self, project: str) -> list[FileEntry]:
        """The files of the project's committed releases."""

    def release_publishers(self, project: str) -> dict[str, ReleasePublisher]:
        """Who published each committed release with files (version -> publisher), where
        the commit recorded it."""

    def published_file(self, project: str, filename: str) -> FileEntry | None:
        """One file of a committed release, or ``None``."""

    def mark_rendered(self, project: str, serial: int) -> None:
        """Record that the project's pages show every commit up to ``serial`` (never lowered)."""

    def render_due(self, before: datetime) -> list[str]:
        """Projects committed before ``before`` whose pages do not show that commit yet."""

    def set_yanked(self, project: str, filenames: Iterable[str], reason: str | None) -> None:
        """Yank (``reason``, possibly "") or unyank (``None``) files."""

    def set_uploaders_cancel_own(self, project: str, allowed: bool) -> None:
        """Let upload-only tokens cancel the sessions they opened (or not); ``NotFoundError``
        when the project has no record (never reserved nor published)."""

    def raise_serial(
        self,
        project: str,
        *,
        at: datetime,
        status: ProjectStatus | None = None,
        reason: str | None = None,
        set_status: bool = False,
    ) -> int:
        """A new serial for a published project (and its PEP 792 status, with ``set_status``),
        its render due from ``at`` until ``mark_rendered`` reaches the serial (the repair
        sweep redoes it otherwise); ``ConflictError`` if it is not published."""


class TrustedPublisherStore(Protocol):
    """The registered trusted publishers; reads are consistent, so a change counts at once."""

    def add(self, publisher: TrustedPublisher, *, audit: Audited | None = None) -> None:
        """Store a new publisher (and ``audit``, in the same write); raises
        ``ConflictError`` if its id is taken."""

    def all(self) -> list[TrustedPublisher]:
        """Every registered publisher, oldest first."""

    def remove(self, publisher_id: str, *, audit: Audited | None = None) -> TrustedPublisher:
        """Delete a publisher (and write ``audit`` with it) and return it; raises
        ``NotFoundError`` if there is none."""


class ReplayGuard(Protocol):
    """Each OIDC token's ``jti`` is accepted once."""

    def first_use(self, issuer: str, jti: str, *, expire_at: datetime) -> bool:
        """Record a use; ``False`` when this (issuer, jti) was recorded before. Atomic:
        of racing calls exactly one gets ``True``. The record may vanish after
        ``expire_at`` (once the token can no longer be accepted)."""


class IssuerDocuments(Protocol):
    """Fetches an OIDC issuer's public documents (discovery document, JWKS)."""

    def get_json(self, url: str) -> Any:
        """The JSON at an https ``url``; raises ``OSError`` on any failure, a timeout, a
        redirect, or a body over the size limit."""


class ReviewStore(Protocol):
    """Reviews of validated files (docs/review.md) and each project's timeout policy."""

    def open_review(self, record: ReviewRecord) -> ReviewRecord:
        """Store a new open review unless one with its id exists; the stored one either way."""

    def get_review(self, review_id: str) -> ReviewRecord | None:
        """The review, read consistently, or ``None``."""

    def add_verdict(self, review_id: str, reviewer: str, verdict: ReviewVerdict) -> ReviewRecord:
        """Record ``reviewer``'s first verdict while the review is open; the review afterwards.
        ``StateChangedError`` (``current`` = the review's state) if it is not open, or if the
        reviewer already gave a verdict (``current`` = "decided")."""

    def close_review(self, review_id: str, state: ReviewState, *, at: datetime) -> bool:
        """Settle an open review as ``state``; ``False`` if it was not open."""

    def due_reviews(self, now: datetime) -> list[ReviewRecord]:
        """Open reviews whose deadline has passed, oldest deadline first (may lag a moment)."""

    def open_reviews(self, limit: int) -> list[ReviewRecord]:
        """Up to ``limit`` open reviews, soonest deadline first (may lag a moment)."""

    def policy(self, project: str) -> ReviewPolicy | None:
        """The project's review policy, or ``None`` when the admin set none."""

    def set_policy(self, project: str, policy: ReviewPolicy) -> None:
        """Set (replace) the project's review policy."""


class ReviewQueue(Protocol):
    """Where wharf announces files to the operator's reviewers."""

    def announce(self, message: Mapping[str, Any]) -> None:
        """Send one announcement (JSON); delivery is at least once."""


class Metrics(Protocol):
    """Operational metrics (CloudWatch EMF on Lambda, adapters/powertools_metrics.py)."""

    def emit(
        self,
        name: str,
        value: float = 1,
        *,
        unit: str = "Count",
        dimensions: Mapping[str, str] | None = None,
    ) -> None:
        """Record one data point under ``name``; never raises (a metric is not worth a failed
        request). ``dimensions`` must come from a small fixed set of values (rule codes,
        route patterns), never from user input."""
