"""File upload sessions (PEP 694): create, transfer bytes by a mechanism, complete, cancel."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from packaging.version import Version

from ..domain.errors import (
    FilenameTakenError,
    FileNotPendingError,
    FileTooLargeError,
    InvalidRequestError,
    MechanismMismatchError,
    MixedUploadPathsError,
    NotFoundError,
    StateChangedError,
)
from ..domain.filenames import FilenameError, check_upload_filename
from ..domain.layout import stored_key
from ..domain.lifecycle import COMPLETE, FILES, REFUSE_TRANSFER
from ..domain.sessions import (
    HTTP_POST_BYTES,
    CreatedVia,
    FileRecord,
    FileStatus,
    SessionRecord,
    new_file_id,
)
from ..observability import logger
from .mechanisms import (
    Transfer,
    TransferPolicy,
    TransferReply,
    TransferRequest,
    mechanism_for,
)
from .mechanisms.http_post_bytes import BYTES
from .sessions import PublishingSessions, require_open_project
from .stored_bytes import discard_bytes, finish_and_announce
from .validation import file_event

if TYPE_CHECKING:
    from ..domain.ports import (
        Catalog,
        Clock,
        FilenameRegistry,
        Metrics,
        SessionRepository,
        StagingStorage,
    )
    from ..domain.tokens import Principal
    from .audit import AuditTrail


@dataclass(frozen=True)
class UploadPolicy:
    inline_limit: int
    max_file_bytes: int
    part_url_seconds: int = 900
    default_part_size: int = 16 * 1024 * 1024
    allow_local_versions: bool = False


@dataclass(frozen=True)
class FileView:
    session: SessionRecord
    file: FileRecord
    status: FileStatus


class FileUploads:
    def __init__(
        self,
        sessions: PublishingSessions,
        store: SessionRepository,
        catalog: Catalog,
        filenames: FilenameRegistry,
        staging: StagingStorage,
        clock: Clock,
        policy: UploadPolicy,
        audit: AuditTrail,
        metrics: Metrics,
    ) -> None:
        self._metrics = metrics
        self._audit = audit
        self._sessions = sessions
        self._store = store
        self._catalog = catalog
        self._filenames = filenames
        self._staging = staging
        self._clock = clock
        self._policy = policy
        self._transfer = Transfer(
            staging,
            store,
            clock,
            TransferPolicy(
                inline_limit=policy.inline_limit,
                part_url_seconds=policy.part_url_seconds,
                default_part_size=policy.default_part_size,
            ),
        )

    def create(
        self,
        principal: Principal,
        token: str,
        *,
        filename: str,
        size: int,
        hashes: Mapping[str, str],
        mechanism: str,
        part_size_hint: int | None = None,
    ) -> FileView:
        """Start a file upload session (``create``). The body was parsed at the edge (types,
        hashes); here the filename is checked against the session's release, every problem
        at once, then the mechanism (422), the size cap and the filename registry (409)."""
        session = self._sessions.load_live(principal, token)
        session.require_editable(self._clock())
        if session.created_via is CreatedVia.LEGACY:
            raise MixedUploadPathsError(
                "This session was created by a legacy upload; add files to it with legacy "
                "uploads (staged=true), not Upload 2.0 (creation paths are not mixed)."
            )
        require_open_project(session.project, self._catalog.project(session.project))
        try:
            # The request-time rules every door applies (docs/validation.md).
            check_upload_filename(
                filename,
                project=session.project,
                version=Version(session.version),
                allow_local=self._policy.allow_local_versions,
            )
        except FilenameError as error:
            raise InvalidRequestError(
                f"filename: {error}",
                errors=[{"source": "filename", "code": error.code, "message": str(error)}],
            ) from None
        chosen = mechanism_for(mechanism)
        if size > self._policy.max_file_bytes:
            raise FileTooLargeError(
                f"The file is {size} bytes; this index accepts at most "
                f"{self._policy.max_file_bytes} bytes per file."
            )
        if self._filenames.taken(filename):
            raise FilenameTakenError(
                f"{filename!r} has already been published (or is being published), under this "
                "or an equivalent name (same normalised name, version and tags; one sdist per "
                "release and format); a filename can be used only once.",
                errors=[{"source": "filename", "code": "filename-taken", "message": filename}],
            )
        file_id = new_file_id()
        key = stored_key(file_id, filename)
        upload_id = self._staging.start_upload(key, checksums=chosen.checksummed_parts)
        record = FileRecord(
            session_token=token,
            file_id=file_id,
            filename=filename,
            size=size,
            hashes=dict(hashes),
            mechanism=chosen.identifier,
            status=FILES.initial,
            created_at=self._clock(),
            staged_key=key,
            upload_id=upload_id,
            part_size=chosen.part_size(size, part_size_hint, self._transfer.policy),
        )
        try:
            self._store.add_file(session, record)
        except Exception:
            self._staging.abort_upload(key, upload_id)
            raise
        self._metrics.emit("UploadsStarted", dimensions={"mechanism": chosen.identifier})
        return FileView(session=session, file=record, status=record.status)

    def view(self, principal: Principal, token: str, file_id: str) -> FileView:
        session = self._sessions.load(principal, token)
        record = self._store.get_file(token, file_id)
        if record is None:
            raise NotFoundError("No such file upload session.")
        return FileView(session, record, record.effective_status(session, self._clock()))

    def transfer(
        self,
        principal: Principal,
        token: str,
        file_id: str,
        mechanism: str,
        endpoint: str,
        request: TransferRequest,
    ) -> TransferReply:
        """A request to a mechanism's endpoint under a live file of that mechanism."""
        current = self._live(principal, token, file_id)
        if current.file.mechanism != mechanism:
            raise MechanismMismatchError(f"This file is uploaded with {current.file.mechanism}.")
        return mechanism_for(mechanism).handle(endpoint, self._transfer, current.file, request)

    def receive_bytes(
        self, principal: Principal, token: str, file_id: str, body: bytes, content_type: str
    ) -> TransferReply:
        """``http-post-bytes``: the whole file as one body (what its endpoint does)."""
        request = TransferRequest("POST", content_type, body)
        return self.transfer(principal, token, file_id, HTTP_POST_BYTES, BYTES, request)

    def complete(self, principal: Principal, token: str, file_id: str) -> FileView:
        """Hand the uploaded bytes to the validator: ``complete`` (pending -> processing).

        A transfer that cannot be completed (no bytes, wrong parts, wrong total) takes
        ``refuse-transfer`` to ``error`` at once, and the caller is told why.
        """
        current = self._live(principal, token, file_id)
        current.session.require_editable(self._clock())
        self._require(COMPLETE, current)
        record = current.file
        assert record.upload_id
        parts = self._staging.parts(record.staged_key, record.upload_id)
        received = sum(size for _, size, _ in parts)
        problems = []
        if not parts:
            problems.append("no bytes were uploaded before completion")
        else:
            problems += mechanism_for(record.mechanism).completion_problems(record, parts)
        if parts and not problems and received != record.size:
            problems.append(f"{received} bytes were uploaded, but {record.size} were declared")
        if problems:
            self._refuse(record, problems)
            self._audit.note(file_event(self._audit, current.session, record, False, problems))
            raise InvalidRequestError(f"The upload cannot be completed: {'; '.join(problems)}.")
        try:
            processing = self._store.move_file(record, COMPLETE, at=self._clock())
        except StateChangedError as error:
            raise FileNotPendingError("The file upload session is no longer pending.") from error
        # The object appears only now, and the marker's event starts the validator.
        finish_and_announce(self._staging, record)
        logger.info("file upload completed", extra={"file": record.file_id, "bytes": received})
        self._metrics.emit("BytesReceived", received, unit="Bytes")
        return FileView(current.session, processing, processing.status)

    def cancel(self, principal: Principal, token: str, file_id: str) -> None:
        """``delete`` the file: its bytes go, its name is free in the session again."""
        current = self.view(principal, token, file_id)
        current.session.require_editable(self._clock())
        if current.status in (FileStatus.PROCESSING, FileStatus.REVIEWING):
            raise FileNotPendingError(
                "The file is being validated or reviewed; its outcome is already being decided."
            )
        if current.status is FileStatus.CANCELED:
            raise FileNotPendingError("The file upload session is already canceled.")
        try:
            self._store.cancel_file(current.session, current.file, at=self._clock())
        except StateChangedError as error:
            raise StateChangedError(
                "The file upload session changed; look at its status.", current=error.current
            ) from error
        discard_bytes(self._staging, self._catalog, current.session.project, current.file)

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

    def _require(self, transition: str, current: FileView) -> None:
        if not FILES.permits(transition, current.status):
            raise FileNotPendingError(f"The file upload session is {current.status}, not pending.")

    def _refuse(self, record: FileRecord, notices: list[str]) -> None:
        # The transfer's own problems carry no rule code: they count as "transfer".
        self._metrics.emit("FilesRefused", dimensions={"reason": "transfer"})
        with contextlib.suppress(StateChangedError):  # a concurrent request decided first
            self._store.move_file(
                record, REFUSE_TRANSFER, at=self._clock(), changes={"notices": tuple(notices)}
            )
        if record.upload_id:
            self._staging.abort_upload(record.staged_key, record.upload_id)
