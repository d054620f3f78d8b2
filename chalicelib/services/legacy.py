"""The legacy upload API (twine, `uv publish`): one file, validated at once, then published
as a one-file release (or staged, PEP 694 amendment) through the same reservation rules."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import TYPE_CHECKING

from packaging.utils import InvalidName, canonicalize_name
from packaging.version import InvalidVersion, Version

from ..domain.catalog import is_legacy_holder, legacy_holder
from ..domain.clock import iso
from ..domain.errors import (
    FilenameTakenError,
    InvalidRequestError,
    MixedUploadPathsError,
    PayloadTooLargeError,
    PermissionDeniedError,
)
from ..domain.filenames import DistKind, FilenameError, check_upload_filename
from ..domain.index import FileEntry
from ..domain.inspection.limits import Limits
from ..domain.inspection.rules import refusal_reasons
from ..domain.inspection.sources import BytesSource
from ..domain.layout import published_key, staged_key
from ..domain.lifecycle import FILES, STAGE_VALIDATED
from ..domain.ports import (
    Catalog,
    Clock,
    FilenameRegistry,
    Metrics,
    ObjectStore,
    SessionRepository,
    StagingStorage,
)
from ..domain.sessions import (
    HTTP_POST_BYTES,
    CreatedVia,
    FileRecord,
    FileStatus,
    SessionRecord,
    new_file_id,
    release_key,
)
from ..domain.tokens import Principal
from ..observability import logger
from .publishing import Publisher
from .sessions import PublishingSessions, SessionView, require_open_project
from .validation import keep_metadata

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
        metrics: Metrics,
    ) -> None:
        self._metrics = metrics
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
        if (_one(fields, "staged") or "").lower() == "true":
            return self._stage(principal, upload, dist.project, dist.version)
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
                    "it: same normalised name, version and tags; one sdist per release) with "
                    "other contents; a filename can be used only once. Upload under a new "
                    "version.",
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
            raise _refusal(upload.filename, verdict)
        self._publish_one(dist.project, str(dist.version), upload, verdict, sha256, dist.kind)
        return LegacyResult(published=True)

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

    def _publish_one(
        self,
        project: str,
        version: str,
        upload: LegacyUpload,
        verdict: Verdict,
        sha256: str,
        kind: DistKind,
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
        entry = FileEntry(
            filename=upload.filename,
            version=version,
            size=len(upload.content),
            sha256=sha256,
            upload_time=iso(self._clock()),
            requires_python=verdict.requires_python,
            metadata_sha256=metadata_sha,
        )
        self._publisher.commit_release(project, version, holder, [entry], has_session=False)
        logger.info("legacy upload published", extra={"project": project, "file": upload.filename})

    # --- staged=true (PEP 694 amendment) ---------------------------------------------------------

    def _stage(
        self, principal: Principal, upload: LegacyUpload, project: str, version: Version
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
                if f.filename == upload.filename and f.status is FileStatus.COMPLETED
            ]
            if same and same[0].digests.get("sha256") == verdict.digests["sha256"]:
                # A retry after a lost answer: the file is already staged.
                return LegacyResult(
                    published=False, staged=self._sessions.view(principal, session.token)
                )
        self._add_completed(session, upload, verdict)
        return LegacyResult(published=False, staged=self._sessions.view(principal, session.token))

    def _add_completed(
        self, session: SessionRecord, upload: LegacyUpload, verdict: Verdict
    ) -> None:
        file_id = new_file_id()
        key = staged_key(session.token, file_id, upload.filename)
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
        # The bytes first: a file is never completed without its object. The object's
        # event finds the file pending and leaves it alone.
        self._staging.finish_upload(key, upload_id)
        self._store.move_file(record, STAGE_VALIDATED, at=self._clock(), changes=changes)


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
