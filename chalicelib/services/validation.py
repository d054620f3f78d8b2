"""The validator: a staged object appeared, so decide whether its file is what it claims."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

from packaging.version import Version

from ..domain.audit import AuditEvent, AuditKind, session_key, session_ref
from ..domain.errors import StateChangedError
from ..domain.inspection.rules import refusal_reasons
from ..domain.layout import UPLOADED, parse_staged_key, staged_metadata_key, stored_folder
from ..domain.lifecycle import ACCEPT, FILES, REJECT, FileStatus
from ..domain.ports import (
    Catalog,
    Clock,
    Metrics,
    SessionRepository,
    StagingStorage,
    StorageReadError,
)
from ..domain.sessions import FileRecord, SessionRecord, SessionStatus
from ..observability import logger
from .attestation_verifier import AttestationRefused
from .stored_bytes import discard_bytes

if TYPE_CHECKING:
    from ..domain.inspection.limits import Limits
    from .audit import AuditTrail
    from .provenance import Provenances
    from .reviews import Reviews

if TYPE_CHECKING:
    from ..domain.inspection.verdict import Verdict


def keep_metadata(staging: StagingStorage, record: FileRecord, verdict: Verdict) -> dict[str, Any]:
    """Store an accepted file's core metadata beside it (PEP 658, under a prefix that fires
    no event); the changes its accepting transition records on the file."""
    if stored_folder(record.staged_key):
        # Beside the file, where it is served from once published.
        metadata_key = record.staged_key + ".metadata"
    else:
        metadata_key = staged_metadata_key(record.session_token, record.file_id, record.filename)
    metadata = verdict.metadata or b""
    staging.put_bytes(metadata_key, metadata, "text/plain; charset=utf-8")
    return {
        "digests": verdict.digests,
        "metadata_key": metadata_key,
        "metadata_sha256": hashlib.sha256(metadata).hexdigest(),
        "requires_python": verdict.requires_python,
        "notices": tuple(verdict.warnings),
    }


def file_event(
    audit: AuditTrail,
    session: SessionRecord,
    record: FileRecord,
    accepted: bool,
    notices: list[str] | tuple[str, ...],
) -> AuditEvent:
    """A file's verdict for the audit trail, by the token that uploaded it."""
    kind = AuditKind.FILE_COMPLETED if accepted else AuditKind.FILE_REFUSED
    return audit.event(
        kind,
        f"{session_key(session.token)}:{record.file_id}",
        session.created_by,
        project=session.project,
        version=session.version,
        subject=record.filename,
        reason=None if accepted else "; ".join(notices),
        details={"session": session_ref(session.token)},
    )


class Validator:
    def __init__(
        self,
        store: SessionRepository,
        staging: StagingStorage,
        catalog: Catalog,
        clock: Clock,
        limits: Limits,
        audit: AuditTrail,
        reviews: Reviews,
        metrics: Metrics,
        provenance: Provenances | None = None,
    ) -> None:
        self._metrics = metrics
        self._store = store
        self._staging = staging
        self._catalog = catalog
        self._clock = clock
        self._limits = limits
        self._audit = audit
        self._provenance = provenance
        self._reviews = reviews

    def object_arrived(self, key: str, size: int, *, redelivered: bool = False) -> str:
        """Validate the file whose upload marker (or, for older sessions, whose staged
        object) appeared at ``key``; returns what happened, for the log."""
        parsed = parse_staged_key(key)
        if parsed is None:
            return "ignored: not a staged upload"
        token, file_id, name = parsed
        record = self._store.get_file(token, file_id)
        if record is None or (name != UPLOADED and record.staged_key != key):
            return "ignored: no such file upload session"
        return self._validate(record, redelivered=redelivered)

    def validate(self, token: str, file_id: str, *, redelivered: bool = False) -> str:
        """Validate a file's bytes where they are stored.

        Idempotent and order-proof: only a file in ``processing`` gets a verdict, and the
        verdict is one conditional write, so a repeated or late event (or one for a
        canceled file) changes nothing.
        """
        record = self._store.get_file(token, file_id)
        if record is None:
            return "ignored: no such file upload session"
        return self._validate(record, redelivered=redelivered)

    def _validate(self, record: FileRecord, *, redelivered: bool = False) -> str:
        file_id, key = record.file_id, record.staged_key
        session = self._store.get_session(record.session_token)
        if session is None:
            return "ignored: no such file upload session"
        if session.effective_status(self._clock()) is SessionStatus.CANCELED:
            return "ignored: the session is canceled"
        if record.status is FileStatus.REVIEWING and redelivered:
            # A Lambda may have died between holding the file and announcing it.
            self._reviews.announce_again(record)
            return "ignored: the file is under review (announced again)"
        if not FILES.permits(ACCEPT, record.status):
            return f"ignored: the file is {record.status}"
        info = self._staging.object_info(key)
        if info is None:
            return "ignored: the object is gone"
        actual_size, etag = info
        # The inspector (archive readers, metadata parsing) is imported here, by the event
        # handler that validates, so that the API's cold start does not load it.
        from ..domain.inspection.verdict import Verdict, validate_distribution

        source = self._staging.source(key, actual_size, etag)
        try:
            verdict = validate_distribution(
                source,
                filename=record.filename,
                project=session.project,
                version=Version(session.version),
                declared_size=record.size,
                declared_hashes=record.hashes,
                limits=self._limits,
            )
        except StorageReadError:
            raise  # S3 let us down, not the file: let SQS deliver the event again
        except Exception:
            # A file that trips the inspector is rejected, not retried forever.
            logger.exception("validator failed on a file", extra={"file": file_id})
            verdict = Verdict(ok=False, notices=["the file could not be inspected"])
        finally:
            # An S3 source keeps a local copy of the bytes for the archive's second look.
            close = getattr(source, "close", None)
            if close is not None:
                close()
        attested: dict[str, Any] = {}
        if verdict.ok and self._provenance is not None:
            try:
                attested = self._provenance.check_staged(record, verdict.digests["sha256"])
            except AttestationRefused as refused:
                verdict = Verdict(ok=False, notices=refused.notices, digests=verdict.digests)
        now = self._clock()
        try:
            if verdict.ok:
                changes = {**keep_metadata(self._staging, record, verdict), **attested}
                if self._reviews.enabled:
                    self._reviews.hold(session, record, changes)
                    outcome = "reviewing"
                else:
                    self._store.move_file(record, ACCEPT, at=now, changes=changes)
                    outcome = "completed"
            else:
                self._store.move_file(
                    record,
                    REJECT,
                    at=now,
                    changes={"digests": verdict.digests, "notices": tuple(verdict.notices)},
                )
                # An error file is deleted and uploaded afresh; its bytes are of no further use.
                discard_bytes(self._staging, self._catalog, session.project, record)
                outcome = "error"
        except StateChangedError:
            return "ignored: another delivery decided first"
        if outcome != "reviewing":  # a held file is recorded when its review settles
            self._audit.note(file_event(self._audit, session, record, verdict.ok, verdict.notices))
        logger.info(
            "file validated",
            extra={"file": file_id, "outcome": outcome, "notices": verdict.notices},
        )
        if verdict.ok:
            self._metrics.emit("FilesCompleted")
        else:
            for reason in refusal_reasons(verdict.notices):
                self._metrics.emit("FilesRefused", dimensions={"reason": reason})
        return outcome
