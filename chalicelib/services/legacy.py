"""The legacy upload API (twine, `uv publish`): one file, validated at once, then published
as a one-file release (or staged, PEP 694 amendment) through the same reservation rules."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from packaging.utils import InvalidName, canonicalize_name
from packaging.version import InvalidVersion, Version

from ..domain.audit import AuditKind, ReleasePublisher
from ..domain.catalog import is_legacy_holder, legacy_holder
from ..domain.clock import iso
from ..domain.errors import (
    FilenameTakenError,
    InvalidRequestError,
    MissingPermissionError,
    MixedUploadPathsError,
    PayloadTooLargeError,
    PermissionDeniedError,
    SessionNotEditableError,
    StateChangedError,
)
from ..domain.filenames import DistKind, FilenameError, check_upload_filename
from ..domain.index import FileEntry
from ..domain.inspection.rules import refusal_reasons
from ..domain.inspection.sources import BytesSource
from ..domain.layout import (
    published_key,
    published_provenance_key,
    staged_provenance_key,
    stored_key,
)
from ..domain.lifecycle import FILES, STAGE_VALIDATED, FileStatus
from ..domain.provenance import INTEGRITY_MEDIA_TYPE
from ..domain.sessions import (
    HTTP_POST_BYTES,
    CreatedVia,
    FileRecord,
    SessionRecord,
    SessionStatus,
    new_file_id,
    release_key,
)
from ..observability import logger
from .sessions import PublishingSessions, SessionView, require_open_project
from .validation import file_event, keep_metadata

if TYPE_CHECKING:
    from ..domain.inspection.limits import Limits
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
    from .provenance import Provenance, Provenances
    from .publishing import Publisher
    from .reviews import Reviews

if TYPE_CHECKING:
    from ..domain.inspection.verdict import Verdict


class FileExistsError_(InvalidRequestError):
    """PyPI answers 400 "File already exists" for a filename taken by other bytes."""


@dataclass(frozen=True)
class LegacyUpload:
    fields: dict[str, list[str]]
    filename: str
    content: bytes


@dataclass(frozen=True)
class LegacyResult:
    published: bool
    unchanged: bool = False
    staged: SessionView | None = None
    # Still under review when the wait ran out: accepted for processing (202).
    pending: bool = False


class ReviewRejectedError(InvalidRequestError):
    """A reviewer rejected the legacy upload; 400 with the reviewer's reason, as PyPI
    answers a file it refuses."""


# How often a legacy upload waiting for its review reads the file's status again.
REVIEW_POLL_SECONDS = 0.25


def _one(fields: dict[str, list[str]], name: str) -> str | None:
    values = fields.get(name) or []
    return values[0] if values else None


class LegacyUploads:
    def __init__(
        self,
        sessions: PublishingSessions,
        store: SessionRepository,
        catalog: Catalog,
        filenames: FilenameRegistry,
        staging: StagingStorage,
        objects: ObjectStore,
        publisher: Publisher,
        clock: Clock,
        *,
        inline_limit: int,
        limits: Limits,
        audit: AuditTrail,
        provenance: Provenances | None = None,
        reviews: Reviews,
        review_wait: timedelta = timedelta(seconds=20),
        sleep: Callable[[float], None] = time.sleep,
        metrics: Metrics,
    ) -> None:
        self._metrics = metrics
        self._audit = audit
        self._provenance = provenance
        self._sessions = sessions
        self._store = store
        self._catalog = catalog
        self._filenames = filenames
        self._staging = staging
        self._objects = objects
        self._publisher = publisher
        self._clock = clock
        self._inline_limit = inline_limit
        self._limits = limits
        self._reviews = reviews
        self._review_wait = review_wait
        self._sleep = sleep

    def upload(self, principal: Principal, upload: LegacyUpload) -> LegacyResult:
        result = self._upload(principal, upload)
        outcome = "unchanged" if result.unchanged else "published" if result.published else "staged"
        self._metrics.emit("LegacyUploads", dimensions={"outcome": outcome})
        return result

    def _upload(self, principal: Principal, upload: LegacyUpload) -> LegacyResult:
        fields = upload.fields
        if _one(fields, ":action") != "file_upload":
            raise InvalidRequestError("Unsupported :action; only file_upload is accepted.")
        if _one(fields, "protocol_version") not in (None, "1"):
            raise InvalidRequestError("Unsupported protocol_version; use 1.")
        if len(upload.content) > self._inline_limit:
            raise PayloadTooLargeError(
                f"The file is {len(upload.content)} bytes; the legacy API takes at most "
                f"{self._inline_limit}. Use `wharf upload`, which sends large files straight "
                "to storage."
            )
        try:
            # The same request-time rules as Upload 2.0's file upload session creation.
            dist = check_upload_filename(
                upload.filename,
                project=_form_project(fields),
                version=None,
                allow_local=self._limits.allow_local_versions,
            )
        except FilenameError as error:
            raise InvalidRequestError(
                f"Invalid distribution file: {error}",
                errors=[{"source": "filename", "code": error.code, "message": str(error)}],
            ) from None
        if not principal.can_upload(dist.project):
            raise PermissionDeniedError(f"This token may not upload to {dist.project!r}.")
        require_open_project(dist.project, self._catalog.project(dist.project))
        self._check_form(fields, dist.project, dist.version)
        sha256 = hashlib.sha256(upload.content).hexdigest()
        self._check_digests(fields, upload.content, sha256)
        attested = self._attested(principal, upload, sha256)
        if (_one(fields, "staged") or "").lower() == "true":
            return self._stage(principal, upload, dist.project, dist.version, attested)
        if not principal.can_publish(dist.project):
            # Without staged=true the legacy API publishes at once.
            raise MissingPermissionError.publish(
                f"upload to {dist.project!r} through the legacy API without staged=true "
                "(which publishes at once)",
                then="Upload with staged=true to stage the file instead.",
            )
        if self._reviews.enabled:
            return self._upload_reviewed(
                principal, upload, dist.project, dist.version, sha256, attested
            )
        holder = legacy_holder(sha256)
        existing = self._filenames.reserve_one(
            upload.filename, holder, dist.project, str(dist.version), sha256, self._clock()
        )
        if existing is not None:
            same = existing.sha256 == sha256 and is_legacy_holder(existing.holder)
            if existing.published:
                # The reservation may be held by an equivalent spelling of the name: only
                # this very filename with these bytes is an identical re-upload.
                published_sha = self._published_sha(dist.project, upload.filename)
                if published_sha == sha256:
                    # A retry after a lost answer: make sure the index shows it, then say OK.
                    self._publisher.render_project(dist.project)
                    return LegacyResult(published=True, unchanged=True)
                raise FileExistsError_(
                    f"File already exists ({upload.filename!r}, or an equivalent spelling of "
                    "it: same normalised name, version and tags; one sdist per release and "
                    "format) with other contents; a filename can be used only once. Upload "
                    "under a new version.",
                    errors=[{"source": "filename", "code": "filename-taken", "message": ""}],
                )
            if not same:
                raise FilenameTakenError(
                    f"{upload.filename!r} is being published by another upload; try again."
                )
            # Our own earlier attempt died half-way: finish it (every step is idempotent).
        verdict = self._validate(upload, dist.project, dist.version)
        if not verdict.ok:
            self._filenames.release(holder, [upload.filename])
            self._refused(principal, dist.project, str(dist.version), upload, verdict)
            raise _refusal(upload.filename, verdict)
        self._publish_one(
            principal, dist.project, str(dist.version), upload, verdict, sha256, dist.kind, attested
        )
        self._publisher.describe_release(
            dist.project,
            str(dist.version),
            principal.token_id,
            verdict.metadata,
            principal.publisher,
        )
        return LegacyResult(published=True)

    def _attested(
        self, principal: Principal, upload: LegacyUpload, sha256: str
    ) -> Provenance | None:
        """The form's ``attestations`` (twine --attestations, uv), verified within the request
        against the file's name and digest and the caller's trusted publisher."""
        field = _one(upload.fields, "attestations")
        if field is None:
            return None
        if self._provenance is None:
            raise InvalidRequestError("This index does not take attestations.")
        return self._provenance.check_legacy(principal, upload.filename, sha256, field)

    # --- checks -----------------------------------------------------------------------------

    def _check_form(self, fields: dict[str, list[str]], project: str, version: Version) -> None:
        """The form's name and version must agree with the file (whose metadata wins)."""
        name = _one(fields, "name")
        if name and canonicalize_name(name) != project:
            raise InvalidRequestError(f"The form says {name!r}, but the file is for {project!r}.")
        raw = _one(fields, "version")
        try:
            if raw and Version(raw) != version:
                raise InvalidRequestError(
                    f"The form says version {raw!r}, but the file is version {version}."
                )
        except InvalidVersion:
            raise InvalidRequestError(f"Invalid version {raw!r} in the form.") from None

    def _check_digests(self, fields: dict[str, list[str]], content: bytes, sha256: str) -> None:
        declared = {
            "sha256_digest": (sha256, "sha256"),
            "md5_digest": (hashlib.md5(content).hexdigest(), "md5"),
            "blake2_256_digest": (
                hashlib.blake2b(content, digest_size=32).hexdigest(),
                "blake2_256",
            ),
        }
        for field, (actual, label) in declared.items():
            given = (_one(fields, field) or "").strip().lower()
            if given and not hmac.compare_digest(given, actual):
                raise InvalidRequestError(
                    f"The {label} digest in the form does not match the uploaded file."
                )

    def _validate(self, upload: LegacyUpload, project: str, version: Version) -> Verdict:
        """The validator Upload 2.0 uses, on the request's bytes: within the same budget, and
        at most the inline limit (4 MiB) of input, so the request's memory stays bounded."""
        # Imported here, as in the validator: only uploads need the inspector.
        from ..domain.inspection.verdict import validate_distribution

        verdict = validate_distribution(
            BytesSource(upload.content),
            filename=upload.filename,
            project=project,
            version=version,
            declared_size=len(upload.content),
            declared_hashes={"sha256": hashlib.sha256(upload.content).hexdigest()},
            limits=self._limits,
        )
        if not verdict.ok:
            self._metrics.emit("LegacyUploads", dimensions={"outcome": "refused"})
            for reason in refusal_reasons(verdict.notices):
                self._metrics.emit("FilesRefused", dimensions={"reason": reason})
        if verdict.ok and verdict.warnings:
            logger.info(
                "legacy upload accepted with warnings",
                extra={"file": upload.filename, "notices": verdict.warnings},
            )
        return verdict

    def _published_sha(self, project: str, filename: str) -> str | None:
        entry = self._catalog.published_file(project, filename)
        return entry.sha256 if entry else None

    # --- publishing a one-file release ----------------------------------------------------------

    def _refused(
        self,
        principal: Principal,
        project: str,
        version: str,
        upload: LegacyUpload,
        verdict: Verdict,
    ) -> None:
        sha256 = hashlib.sha256(upload.content).hexdigest()
        self._audit.note(
            self._audit.event(
                AuditKind.FILE_REFUSED,
                f"legacy:{sha256}:{principal.token_id}",
                principal,
                project=project,
                version=version,
                subject=upload.filename,
                reason="; ".join(verdict.notices),
                details={"via": "legacy"},
            )
        )

    def _publish_one(
        self,
        principal: Principal,
        project: str,
        version: str,
        upload: LegacyUpload,
        verdict: Verdict,
        sha256: str,
        kind: DistKind,
        attested: Provenance | None = None,
    ) -> None:
        holder = legacy_holder(sha256)
        key = published_key(project, upload.filename)
        self._objects.put(key, upload.content, content_type="application/octet-stream", metadata={})
        metadata_sha = None
        if kind is DistKind.WHEEL and verdict.metadata is not None:
            self._objects.put(
                key + ".metadata", verdict.metadata, content_type="text/plain", metadata={}
            )
            metadata_sha = hashlib.sha256(verdict.metadata).hexdigest()
        if attested is not None:
            self._objects.put(
                published_provenance_key(project, upload.filename),
                attested.body,
                content_type=INTEGRITY_MEDIA_TYPE,
                metadata={},
            )
        entry = FileEntry(
            filename=upload.filename,
            version=version,
            size=len(upload.content),
            sha256=sha256,
            upload_time=iso(self._clock()),
            requires_python=verdict.requires_python,
            metadata_sha256=metadata_sha,
            provenance_publisher=attested.publisher if attested else None,
        )
        self._publisher.commit_release(
            project,
            version,
            holder,
            [entry],
            has_session=False,
            published_by=ReleasePublisher(
                token_id=principal.token_id, publisher=principal.publisher
            ),
        )
        logger.info("legacy upload published", extra={"project": project, "file": upload.filename})

    # --- staged=true (PEP 694 amendment) ---------------------------------------------------------

    def _stage(
        self,
        principal: Principal,
        upload: LegacyUpload,
        project: str,
        version: Version,
        attested: Provenance | None = None,
    ) -> LegacyResult:
        if self._filenames.taken(upload.filename):
            if self._published_sha(project, upload.filename) is not None:
                raise FileExistsError_(f"File already exists ({upload.filename!r}).")
            raise FilenameTakenError(
                f"{upload.filename!r} (or an equivalent spelling of it) is being published, "
                "or was published, by another upload."
            )
        verdict = self._validate(upload, project, version)
        if not verdict.ok:
            self._refused(principal, project, str(version), upload, verdict)
            raise _refusal(upload.filename, verdict)
        token = self._store.open_session_for(project, release_key(version))
        if token is None:
            session = self._sessions.create(
                principal, project, str(version), created_via=CreatedVia.LEGACY
            )
        else:
            session = self._sessions.load(principal, token)
            if session.created_via is not CreatedVia.LEGACY:
                raise MixedUploadPathsError(
                    "This release has an open Upload 2.0 session; legacy uploads may not add "
                    "to it (finish or cancel it first)."
                )
            session.require_editable(self._clock())
            same = [
                f
                for f in self._store.list_files(session.token)
                if f.filename == upload.filename
                and f.status in (FileStatus.COMPLETED, FileStatus.REVIEWING)
            ]
            if same and same[0].digests.get("sha256") == verdict.digests["sha256"]:
                # A retry after a lost answer: the file is already staged.
                return LegacyResult(
                    published=False, staged=self._sessions.view(principal, session.token)
                )
        self._add_completed(session, upload, verdict, attested)
        return LegacyResult(published=False, staged=self._sessions.view(principal, session.token))

    def _add_completed(
        self,
        session: SessionRecord,
        upload: LegacyUpload,
        verdict: Verdict,
        attested: Provenance | None = None,
        *,
        publish_when_approved: bool = False,
    ) -> FileRecord:
        """The validated file added to the session: ``completed``, or held for review."""
        file_id = new_file_id()
        key = stored_key(file_id, upload.filename)
        upload_id = self._staging.start_upload(key)
        self._staging.put_part(key, upload_id, 1, upload.content)
        record = FileRecord(
            session_token=session.token,
            file_id=file_id,
            filename=upload.filename,
            size=len(upload.content),
            hashes={"sha256": verdict.digests["sha256"]},
            mechanism=HTTP_POST_BYTES,
            status=FILES.initial,
            created_at=self._clock(),
            staged_key=key,
            upload_id=upload_id,
        )
        try:
            self._store.add_file(session, record)
        except Exception:
            self._staging.abort_upload(key, upload_id)
            raise
        changes = keep_metadata(self._staging, record, verdict)
        if attested is not None:
            provenance_key = staged_provenance_key(session.token, file_id, upload.filename)
            self._staging.put_bytes(provenance_key, attested.body, INTEGRITY_MEDIA_TYPE)
            changes.update(provenance_key=provenance_key, provenance_publisher=attested.publisher)
        # The bytes first: a file is never completed without its object. The object's
        # event finds the file pending and leaves it alone.
        self._staging.finish_upload(key, upload_id)
        if self._reviews.enabled:
            return self._reviews.hold(
                session, record, changes, publish_when_approved=publish_when_approved
            )
        moved = self._store.move_file(record, STAGE_VALIDATED, at=self._clock(), changes=changes)
        self._audit.note(file_event(self._audit, session, record, True, ()))
        return moved

    # --- with reviewers: a one-file session, published once the file is approved -------------

    def _upload_reviewed(
        self,
        principal: Principal,
        upload: LegacyUpload,
        project: str,
        version: Version,
        sha256: str,
        attested: Provenance | None = None,
    ) -> LegacyResult:
        """The file goes into a legacy session, is held for review, and the request waits
        (up to ``review_wait``) for the verdict and the publish it sets off: 200 once the
        release is published, 400 with the reviewer's reason, or 202 (accepted for
        processing; twine and uv count any 2xx as uploaded) if the wait runs out."""
        if self._filenames.taken(upload.filename):
            published_sha = self._published_sha(project, upload.filename)
            if published_sha == sha256:
                self._publisher.render_project(project)
                return LegacyResult(published=True, unchanged=True)
            if published_sha is not None:
                raise FileExistsError_(
                    f"File already exists ({upload.filename!r}) with other contents; a "
                    "filename can be used only once. Upload under a new version.",
                    errors=[{"source": "filename", "code": "filename-taken", "message": ""}],
                )
            raise FilenameTakenError(
                f"{upload.filename!r} (or an equivalent spelling of it) is being published "
                "by another upload; try again."
            )
        record = self._waiting_file(principal, project, version, upload.filename, sha256)
        if record is None:
            verdict = self._validate(upload, project, version)
            if not verdict.ok:
                raise _refusal(upload.filename, verdict)
            record = self._add_to_legacy_session(
                principal, project, version, upload, verdict, attested
            )
        return self._await_review(record)

    def _add_to_legacy_session(
        self,
        principal: Principal,
        project: str,
        version: Version,
        upload: LegacyUpload,
        verdict: Verdict,
        attested: Provenance | None = None,
    ) -> FileRecord:
        """Add the file to the release's waiting session; a session that starts publishing
        between our read and our write is waited out and the next one used."""
        for _ in range(3):
            session = self._legacy_session(principal, project, version)
            try:
                return self._add_completed(
                    session, upload, verdict, attested, publish_when_approved=True
                )
            except (SessionNotEditableError, StateChangedError):
                continue
        raise StateChangedError("The release's session kept changing; try again.")

    def _waiting_file(
        self, principal: Principal, project: str, version: Version, filename: str, sha256: str
    ) -> FileRecord | None:
        """A retry of an upload still waiting for its review (the same name and bytes)."""
        token = self._store.open_session_for(project, release_key(version))
        if token is None:
            return None
        for record in self._store.list_files(token):
            if (
                record.filename == filename
                and record.status is not FileStatus.CANCELED
                and record.digests.get("sha256") == sha256
            ):
                self._sessions.load(principal, token)  # the caller may still upload here
                return record
        return None

    def _legacy_session(
        self, principal: Principal, project: str, version: Version
    ) -> SessionRecord:
        """The open legacy session of this release (another reviewed upload waiting, as
        twine's sdist then wheel), or a new one once a publishing one has finished."""
        deadline = self._clock() + self._review_wait
        while True:
            token = self._store.open_session_for(project, release_key(version))
            if token is None:
                return self._sessions.create(
                    principal, project, str(version), created_via=CreatedVia.LEGACY
                )
            session = self._sessions.load(principal, token)
            if session.created_via is not CreatedVia.LEGACY:
                raise MixedUploadPathsError(
                    "This release has an open Upload 2.0 session; legacy uploads may not add "
                    "to it (finish or cancel it first)."
                )
            if not self._reviews.publishes_when_approved(self._store.list_files(token)):
                raise MixedUploadPathsError(
                    "This release has a staged session open (staged=true); publish or cancel "
                    "it before uploading without staged=true."
                )
            if session.status.editable and session.effective_status(self._clock()).editable:
                return session
            if self._clock() >= deadline:
                raise FilenameTakenError(
                    "Another upload of this release is being published; try again shortly."
                )
            self._sleep(REVIEW_POLL_SECONDS)

    def _await_review(self, record: FileRecord) -> LegacyResult:
        deadline = self._clock() + self._review_wait
        while True:
            current = self._store.get_file(record.session_token, record.file_id) or record
            session = self._store.get_session(record.session_token)
            if current.status is FileStatus.ERROR:
                raise ReviewRejectedError(
                    "The file was rejected in review: " + "; ".join(current.notices),
                    errors=[{"source": current.filename, "message": n} for n in current.notices],
                )
            if session is not None and session.status is SessionStatus.PUBLISHED:
                return LegacyResult(published=True)
            if session is not None and session.status is SessionStatus.ERROR:
                raise FilenameTakenError(
                    "The release could not be published: " + "; ".join(session.notices)
                )
            if self._clock() >= deadline:
                return LegacyResult(published=False, pending=True)
            self._sleep(REVIEW_POLL_SECONDS)


def _form_project(fields: dict[str, list[str]]) -> str | None:
    """The form's project name, normalised, if it has a valid one: it settles which hyphen
    ends the name in an old sdist filename (the file itself is still what is checked)."""
    name = _one(fields, "name")
    try:
        return canonicalize_name(name, validate=True) if name else None
    except InvalidName:
        return None


def _refusal(filename: str, verdict: Verdict) -> InvalidRequestError:
    """400, as PyPI answers an invalid file, naming every notice with its rule code."""
    return InvalidRequestError(
        "Invalid distribution file: " + "; ".join(verdict.notices),
        errors=[
            {"source": filename, "code": n.split(":", 1)[0], "message": n} for n in verdict.notices
        ],
    )
