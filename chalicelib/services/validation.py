"""The validator: a staged object appeared, so decide whether its file is what it claims."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

from packaging.version import Version

from ..domain.errors import StateChangedError
from ..domain.inspection.limits import Limits
from ..domain.inspection.rules import refusal_reasons
from ..domain.layout import parse_staged_key, staged_metadata_key
from ..domain.lifecycle import ACCEPT, FILES, REJECT
from ..domain.ports import Clock, Metrics, SessionRepository, StagingStorage, StorageReadError
from ..domain.sessions import FileRecord, SessionStatus
from ..observability import logger

if TYPE_CHECKING:
    from ..domain.inspection.verdict import Verdict


def keep_metadata(staging: StagingStorage, record: FileRecord, verdict: Verdict) -> dict[str, Any]:
    """Store an accepted file's core metadata beside it (PEP 658, under a prefix that fires
    no event); the changes its accepting transition records on the file."""
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


class Validator:
    def __init__(
        self,
        store: SessionRepository,
        staging: StagingStorage,
        clock: Clock,
        limits: Limits,
        metrics: Metrics,
    ) -> None:
        self._metrics = metrics
        self._store = store
        self._staging = staging
        self._clock = clock
        self._limits = limits

    def object_arrived(self, key: str, size: int) -> str:
        """Validate the file staged at ``key``; returns what happened, for the log.

        Idempotent and order-proof: only a file in ``processing`` whose staged key this
        is gets a verdict, and the verdict is one conditional write, so a repeated or
        late event (or one for a canceled file) changes nothing.
        """
        parsed = parse_staged_key(key)
        if parsed is None:
            return "ignored: not a staged upload"
        token, file_id, _ = parsed
        session = self._store.get_session(token)
        record = self._store.get_file(token, file_id)
        if session is None or record is None or record.staged_key != key:
            return "ignored: no such file upload session"
        if session.effective_status(self._clock()) is SessionStatus.CANCELED:
            return "ignored: the session is canceled"
        if not FILES.permits(ACCEPT, record.status):
            return f"ignored: the file is {record.status}"
        info = self._staging.object_info(key)
        if info is None:
            return "ignored: the object is gone"
        actual_size, etag = info
        # The inspector (archive readers, metadata parsing) is imported here, by the event
        # handler that validates, so that the API's cold start does not load it.
        from ..domain.inspection.verdict import Verdict, validate_distribution

        try:
            verdict = validate_distribution(
                self._staging.source(key, actual_size, etag),
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
        now = self._clock()
        try:
            if verdict.ok:
                changes = keep_metadata(self._staging, record, verdict)
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
                self._staging.delete_prefix(key.rsplit("/", 1)[0] + "/")
                outcome = "error"
        except StateChangedError:
            return "ignored: another delivery decided first"
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
