"""File upload sessions (PEP 694): create, transfer bytes, complete, cancel."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from packaging.version import Version

from ..domain import multipart
from ..domain.errors import (
    ConflictError,
    InvalidRequestError,
    NotFoundError,
    PayloadTooLargeError,
    StateChangedError,
    UnprocessableError,
    UnsupportedMediaTypeError,
)
from ..domain.filenames import FilenameError, check_upload_filename
from ..domain.hashes import HashError, normalize_hashes
from ..domain.layout import STAGING_METADATA_PREFIX, STAGING_PREFIX, staged_key
from ..domain.ports import Clock
from ..domain.session_ports import SessionStore, StagingStorage
from ..domain.sessions import (
    HTTP_POST_BYTES,
    CreatedVia,
    FileRecord,
    FileStatus,
    SessionRecord,
    new_file_id,
)
from ..domain.tokens import Principal
from ..observability import logger
from .sessions import PublishingSessions, require_open_project

# Preferred first: large files should never pass through Lambda.
MECHANISMS = (multipart.MECHANISM, HTTP_POST_BYTES)


@dataclass(frozen=True)
class UploadPolicy:
    inline_limit: int
    max_file_bytes: int
    part_url_seconds: int = 900
    default_part_size: int = multipart.DEFAULT_PART
    allow_local_versions: bool = False


@dataclass(frozen=True)
class PartsView:
    file: FileRecord
    held: list[tuple[int, int, str]]
    urls: dict[int, str]
    urls_expire_at: datetime


@dataclass(frozen=True)
class FileView:
    session: SessionRecord
    file: FileRecord
    status: FileStatus


class FileUploads:
    def __init__(
        self,
        sessions: PublishingSessions,
        store: SessionStore,
        staging: StagingStorage,
        clock: Clock,
        policy: UploadPolicy,
    ) -> None:
        self._sessions = sessions
        self._store = store
        self._staging = staging
        self._clock = clock
        self._policy = policy

    def create(
        self,
        principal: Principal,
        token: str,
        *,
        filename: object,
        size: object,
        hashes: object,
        mechanism: object,
        part_size_hint: object = None,
    ) -> FileView:
        """Start a file upload session; every problem with the request is reported at once."""
        session = self._sessions.load_live(principal, token)
        session.require_editable(self._clock())
        if session.created_via is CreatedVia.LEGACY:
            raise ConflictError(
                "This session was created by a legacy upload; add files to it with legacy "
                "uploads (staged=true), not Upload 2.0 (creation paths are not mixed)."
            )
        require_open_project(session.project, self._store.project_status(session.project))
        problems: list[dict[str, str]] = []
        if not isinstance(filename, str):
            problems.append({"source": "filename", "message": "must be a string"})
        else:
            # The request-time rules every door applies (docs/validation.md).
            try:
                check_upload_filename(
                    filename,
                    project=session.project,
                    version=Version(session.version),
                    allow_local=self._policy.allow_local_versions,
                )
            except FilenameError as error:
                problems.append({"source": "filename", "code": error.code, "message": str(error)})
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            problems.append({"source": "size", "message": "must be a positive integer (bytes)"})
        try:
            declared = normalize_hashes(hashes)
        except HashError as error:
            problems.append({"source": "hashes", "message": str(error)})
        if not isinstance(mechanism, str):
            problems.append({"source": "mechanism", "message": "must be a string"})
        if problems:
            raise InvalidRequestError(
                "; ".join(f"{p['source']}: {p['message']}" for p in problems), errors=problems
            )
        assert isinstance(filename, str) and isinstance(size, int) and isinstance(mechanism, str)
        if mechanism not in MECHANISMS:
            raise UnprocessableError(
                f"Unsupported upload mechanism {mechanism[:100]!r}; this server offers "
                f"{', '.join(MECHANISMS)}.",
                errors=[{"source": "mechanism", "message": "unsupported mechanism"}],
            )
        if size > self._policy.max_file_bytes:
            raise ConflictError(
                f"The file is {size} bytes; this index accepts at most "
                f"{self._policy.max_file_bytes} bytes per file."
            )
        if self._store.filename_taken(filename):
            raise ConflictError(
                f"{filename!r} has already been published (or is being published), under this "
                "or an equivalent name (same normalised name, version and tags; one sdist per "
                "release); a filename can be used only once.",
                errors=[{"source": "filename", "code": "filename-taken", "message": filename}],
            )
        file_id = new_file_id()
        key = staged_key(token, file_id, filename)
        part_size = None
        if mechanism == multipart.MECHANISM:
            part_size = multipart.choose_part_size(
                size, part_size_hint, self._policy.default_part_size
            )
        # Presigned parts carry no checksum header; S3 verifies http-post-bytes' single part.
        upload_id = self._staging.start_upload(key, checksums=mechanism == HTTP_POST_BYTES)
        record = FileRecord(
            session_token=token,
            file_id=file_id,
            filename=filename,
            size=size,
            hashes=declared,
            mechanism=mechanism,
            status=FileStatus.PENDING,
            created_at=self._clock(),
            staged_key=key,
            upload_id=upload_id,
            part_size=part_size,
        )
        try:
            self._store.add_file(session, record)
        except ConflictError:
            self._staging.abort_upload(key, upload_id)
            raise
        return FileView(session=session, file=record, status=record.status)

    def view(self, principal: Principal, token: str, file_id: str) -> FileView:
        session = self._sessions.load(principal, token)
        record = self._store.get_file(token, file_id)
        if record is None:
            raise NotFoundError("No such file upload session.")
        return FileView(session, record, record.effective_status(session, self._clock()))

    def receive_bytes(
        self, principal: Principal, token: str, file_id: str, body: bytes, content_type: str
    ) -> FileView:
        """``http-post-bytes``: the whole file in one request body."""
        current = self._live(principal, token, file_id)
        if content_type != "application/octet-stream":
            raise UnsupportedMediaTypeError("Send the file's bytes as application/octet-stream.")
        if len(body) > self._policy.inline_limit:
            raise PayloadTooLargeError(
                f"The body is {len(body)} bytes; http-post-bytes takes at most "
                f"{self._policy.inline_limit} bytes here. Use the "
                "vnd-wharf-s3multipart-presigned-v1 mechanism (wharf upload does) for larger "
                "files."
            )
        self._require_pending(current)
        if current.file.mechanism != HTTP_POST_BYTES:
            raise ConflictError(f"This file is uploaded with {current.file.mechanism}.")
        if len(body) != current.file.size:
            raise InvalidRequestError(
                f"The body is {len(body)} bytes, but the file upload session declared "
                f"{current.file.size}."
            )
        assert current.file.upload_id
        self._staging.put_part(current.file.staged_key, current.file.upload_id, 1, body)
        return current

    def complete(self, principal: Principal, token: str, file_id: str) -> FileView:
        """Hand the uploaded bytes to the validator: pending → processing.

        A transfer that cannot be completed (no bytes, wrong total) moves the file to
        ``error`` at once, and the caller is told why.
        """
        current = self._live(principal, token, file_id)
        current.session.require_editable(self._clock())
        self._require_pending(current)
        record = current.file
        assert record.upload_id
        parts = self._staging.parts(record.staged_key, record.upload_id)
        received = sum(size for _, size, _ in parts)
        problems = []
        if not parts:
            problems.append("no bytes were uploaded before completion")
        elif record.part_size:
            problems += multipart.part_problems(parts, record.size, record.part_size)
        if parts and not problems and received != record.size:
            problems.append(f"{received} bytes were uploaded, but {record.size} were declared")
        if problems:
            self._fail(record, problems)
            raise InvalidRequestError(f"The upload cannot be completed: {'; '.join(problems)}.")
        try:
            processing = self._store.set_file_status(
                record, FileStatus.PROCESSING, expected=[FileStatus.PENDING], at=self._clock()
            )
        except StateChangedError as error:
            raise ConflictError("The file upload session is no longer pending.") from error
        # The object appears only now, and its event starts the validator.
        self._staging.finish_upload(record.staged_key, record.upload_id)
        logger.info("file upload completed", extra={"file": record.file_id, "bytes": received})
        return FileView(current.session, processing, processing.status)

    def parts(self, principal: Principal, token: str, file_id: str, wanted: list[int]) -> PartsView:
        """The parts S3 already holds (to resume from) and presigned PUT URLs for ``wanted``.

        URLs live ``part_url_seconds``; asking again renews them. Authorised on every call.
        """
        current = self._live(principal, token, file_id)
        record = current.file
        if record.mechanism != multipart.MECHANISM or not record.part_size:
            raise ConflictError(f"This file is uploaded with {record.mechanism}.")
        self._require_pending(current)
        count = multipart.part_count(record.size, record.part_size)
        bad = [n for n in wanted if not 1 <= n <= count]
        if bad:
            raise InvalidRequestError(
                f"Part numbers run from 1 to {count}; got {', '.join(map(str, bad[:10]))}.",
                errors=[{"source": "parts", "message": "part number out of range"}],
            )
        assert record.upload_id
        held = self._staging.parts(record.staged_key, record.upload_id)
        self._store.record_progress(record, len(held), sum(size for _, size, _ in held))
        expires = self._policy.part_url_seconds
        urls = {
            n: self._staging.presign_part(record.staged_key, record.upload_id, n, expires)
            for n in wanted
        }
        return PartsView(
            file=record,
            held=held,
            urls=urls,
            urls_expire_at=self._clock() + timedelta(seconds=expires),
        )

    def cancel(self, principal: Principal, token: str, file_id: str) -> None:
        current = self.view(principal, token, file_id)
        current.session.require_editable(self._clock())
        if current.status is FileStatus.PROCESSING:
            raise ConflictError(
                "The file is being validated; its outcome is already being decided."
            )
        if current.status is FileStatus.CANCELED:
            raise ConflictError("The file upload session is already canceled.")
        try:
            self._store.cancel_file(current.session, current.file, at=self._clock())
        except StateChangedError as error:
            raise ConflictError("The file upload session changed; look at its status.") from error
        self._purge(current.file)

    def _purge(self, record: FileRecord) -> None:
        """Drop a file's multipart upload, staged bytes and extracted metadata."""
        if record.upload_id:
            self._staging.abort_upload(record.staged_key, record.upload_id)
        self._staging.delete_prefix(f"{STAGING_PREFIX}{record.session_token}/{record.file_id}/")
        self._staging.delete_prefix(
            f"{STAGING_METADATA_PREFIX}{record.session_token}/{record.file_id}/"
        )

    def extend(self, principal: Principal, token: str, file_id: str, seconds: int) -> FileView:
        """A file lives as long as its publishing session: extending it extends the session."""
        current = self._live(principal, token, file_id)
        view = self._sessions.extend(principal, token, seconds)
        return FileView(view.session, current.file, current.status)

    def _live(self, principal: Principal, token: str, file_id: str) -> FileView:
        """A file whose data URLs still work: once it or its session is canceled they 404."""
        current = self.view(principal, token, file_id)
        if current.status is FileStatus.CANCELED:
            raise NotFoundError("The file upload session was canceled; its data is gone.")
        return current

    def _require_pending(self, current: FileView) -> None:
        if current.status is not FileStatus.PENDING:
            raise ConflictError(f"The file upload session is {current.status}, not pending.")

    def _fail(self, record: FileRecord, notices: list[str]) -> None:
        with contextlib.suppress(StateChangedError):  # a concurrent request decided first
            self._store.set_file_status(
                record,
                FileStatus.ERROR,
                expected=[FileStatus.PENDING, FileStatus.PROCESSING],
                at=self._clock(),
                notices=tuple(notices),
            )
        if record.upload_id:
            self._staging.abort_upload(record.staged_key, record.upload_id)
