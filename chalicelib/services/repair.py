"""The sweeper's second job: finish work a crashed Lambda left half done.

Completing a file is two steps (status to ``processing``, then CompleteMultipartUpload),
so is asking to publish (reserve names and go ``processing``, then write the publish
request), and so is publishing (commit, then render the index). A Lambda that dies
between them leaves a file, a session or a page waiting for an event that will never
come; this does the missing step again, idempotently.
"""

from __future__ import annotations

import contextlib
import json
from datetime import timedelta
from typing import TYPE_CHECKING

from ..domain.clock import iso
from ..domain.errors import StateChangedError
from ..domain.layout import publish_request_key
from ..domain.lifecycle import REJECT
from ..domain.sessions import FileRecord, SessionStatus
from ..observability import logger
from .stored_bytes import finish_and_announce

if TYPE_CHECKING:
    from ..domain.ports import Clock, Metrics, SessionRepository, StagingStorage
    from .publishing import Publisher
    from .validation import Validator


class Repair:
    def __init__(
        self,
        store: SessionRepository,
        staging: StagingStorage,
        validator: Validator,
        publisher: Publisher,
        clock: Clock,
        *,
        grace: timedelta,
        metrics: Metrics,
    ) -> None:
        self._metrics = metrics
        self._store = store
        self._staging = staging
        self._validator = validator
        self._publisher = publisher
        self._clock = clock
        self._grace = grace

    def run(self) -> dict[str, int]:
        """Re-drive stuck files and publishes; returns how many of each."""
        counts = {"files": 0, "publishes": 0, "renders": 0}
        cutoff = self._clock() - self._grace
        for record in self._store.stuck_files(cutoff):
            info = self._staging.object_info(record.staged_key)
            if info is not None:
                # The bytes are there but no verdict came: validate now.
                self._validator.validate(record.session_token, record.file_id)
            elif record.upload_id:
                self._finish(record)
            counts["files"] += 1
        for project in self._publisher.due_renders(cutoff):
            # Committed, but the Lambda died before the index showed it.
            self._publisher.rerender(project)
            counts["renders"] += 1
        for session in self._store.open_sessions():
            requested = session.publish_requested_at
            if session.status is SessionStatus.PROCESSING and requested and requested < cutoff:
                body = {"session": session.token, "requested_at": iso(self._clock())}
                self._staging.put_bytes(
                    publish_request_key(session.token),
                    json.dumps(body).encode(),
                    "application/json",
                )
                counts["publishes"] += 1
        for kind, count in counts.items():
            if count:
                self._metrics.emit("SweeperRepairs", count, dimensions={"kind": kind})
        return counts

    def _finish(self, record: FileRecord) -> None:
        """The completion never reached S3: complete it now (its event follows), or give up."""
        assert record.upload_id
        try:
            finish_and_announce(self._staging, record)
        except Exception:
            logger.exception("could not finish an interrupted upload")
            with contextlib.suppress(StateChangedError):
                self._store.move_file(
                    record,
                    REJECT,
                    at=self._clock(),
                    changes={
                        "notices": (
                            "the upload was interrupted; delete the file and upload it again",
                        )
                    },
                )
