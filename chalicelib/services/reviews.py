"""The review step inside ``processing`` (docs/review.md).

With reviewers configured, a file the validator accepts is held in ``reviewing`` (clients
see ``processing``) and announced on the review queue. Each reviewer posts a verdict
through the admin API; one rejection rejects (its reason is the file's notice, its bytes
are quarantined), approval needs every reviewer. The sweeper applies the project's timeout
policy to reviews nobody finished. Every step is a conditional write, so repeated
announcements, repeated verdicts and a sweeper racing a reviewer all converge.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..domain.clock import iso
from ..domain.errors import (
    FilenameTakenError,
    InvalidRequestError,
    NotFoundError,
    ReviewClosedError,
    StateChangedError,
)
from ..domain.layout import STAGING_PREFIX, publish_request_key, stored_folder
from ..domain.lifecycle import APPROVE, HOLD_FOR_REVIEW, REJECT_REVIEW, FileStatus
from ..domain.review import (
    Decision,
    ReviewPolicy,
    ReviewRecord,
    ReviewState,
    ReviewVerdict,
    deadline_for,
    review_id_for,
)
from ..domain.sessions import FileRecord, SessionRecord, SessionStatus
from ..observability import logger

if TYPE_CHECKING:
    from ..domain.ports import (
        Clock,
        ObjectStore,
        ReviewQueue,
        ReviewStore,
        SessionRepository,
        StagingStorage,
    )

QUARANTINE_PREFIX = "quarantine/"
# Metadata larger than this travels by URL only (an SQS message holds at most 256 KiB).
INLINE_METADATA_BYTES = 64 * 1024
ANNOUNCEMENT_KIND = "wharf.review.requested"


def quarantine_key(review: ReviewRecord) -> str:
    """Outside the staging prefixes: no event fires, no lifecycle rule expires it, and no
    route serves it (the admin fetches it through GET /admin/reviews/<id>)."""
    return f"{QUARANTINE_PREFIX}{review.project}/{review.review_id}/{review.filename}"


@dataclass(frozen=True)
class ReviewConfig:
    reviewers: tuple[str, ...]
    default_policy: ReviewPolicy
    url_seconds: int

    @property
    def enabled(self) -> bool:
        return bool(self.reviewers)


class Reviews:
    def __init__(
        self,
        store: SessionRepository,
        reviews: ReviewStore,
        queue: ReviewQueue,
        objects: ObjectStore,
        staging: StagingStorage,
        clock: Clock,
        config: ReviewConfig,
    ) -> None:
        self._store = store
        self._reviews = reviews
        self._queue = queue
        self._objects = objects
        self._staging = staging
        self._clock = clock
        self.config = config

    @property
    def enabled(self) -> bool:
        return self.config.enabled

    # --- policy -------------------------------------------------------------------------------

    def policy(self, project: str) -> ReviewPolicy:
        return self._reviews.policy(project) or self.config.default_policy

    def set_policy(self, project: str, policy: ReviewPolicy) -> None:
        self._reviews.set_policy(project, policy)

    # --- holding a validated file -------------------------------------------------------------

    def hold(
        self,
        session: SessionRecord,
        record: FileRecord,
        changes: dict[str, Any],
        *,
        publish_when_approved: bool = False,
    ) -> FileRecord:
        """``hold-for-review``: open the file's review (first, so the sweeper's timeout
        covers the file whatever happens next), move the file, announce it.
        ``StateChangedError`` if another delivery moved the file first."""
        now = self._clock()
        policy = self.policy(session.project)
        review = self._reviews.open_review(
            ReviewRecord(
                review_id=review_id_for(record.session_token, record.file_id),
                session_token=record.session_token,
                file_id=record.file_id,
                project=session.project,
                version=session.version,
                filename=record.filename,
                reviewers=self.config.reviewers,
                opened_at=now,
                deadline=deadline_for(now, policy),
                on_timeout=policy.on_timeout,
                publish_when_approved=publish_when_approved,
            )
        )
        held = self._store.move_file(
            record, HOLD_FOR_REVIEW, at=now, changes={**changes, "review_id": review.review_id}
        )
        self._queue.announce(self.announcement(review, held))
        logger.info("file held for review", extra={"review": review.review_id})
        return held

    def announce_again(self, record: FileRecord) -> None:
        """A redelivered event for a file under review: the first announcement may have been
        lost with a crashed Lambda, and reviewers take repeats (at-least-once)."""
        review = self._reviews.get_review(record.review_id or "")
        if review is not None and review.state is ReviewState.OPEN:
            self._queue.announce(self.announcement(review, record))

    def announcement(self, review: ReviewRecord, record: FileRecord) -> dict[str, Any]:
        """What a reviewer gets: the file, a presigned URL to its bytes, its metadata, and
        where to post the verdict. No session token: reviewers need none."""
        expires = self.config.url_seconds
        metadata: str | None = None
        metadata_url: str | None = None
        if record.metadata_key:
            metadata_url = self._objects.presigned_get(record.metadata_key, expires=expires)
            with self._staging.open(record.metadata_key) as handle:
                raw = handle.read(INLINE_METADATA_BYTES + 1)
            if len(raw) <= INLINE_METADATA_BYTES:
                metadata = raw.decode("utf-8", "replace")
        return {
            "kind": ANNOUNCEMENT_KIND,
            "review_id": review.review_id,
            "project": review.project,
            "version": review.version,
            "filename": review.filename,
            "size": record.size,
            "digests": dict(record.digests),
            "reviewers": list(review.reviewers),
            "deadline": iso(review.deadline),
            "on_timeout": str(review.on_timeout),
            "download_url": self._objects.presigned_get(
                record.staged_key, expires=expires, filename=record.filename
            ),
            "metadata": metadata,
            "metadata_url": metadata_url,
            # The verified PEP 740 provenance (its publisher, and the object itself), if the
            # file came with attestations: reviewers may weigh where it was built.
            "provenance": _provenance(self._objects, record, expires),
            "verdicts_path": f"/admin/reviews/{review.review_id}/verdicts",
        }

    def publishes_when_approved(self, files: list[FileRecord]) -> bool:
        """Whether a legacy session is one wharf publishes by itself (every live file came
        from a legacy upload without staged=true), not one its publisher staged."""
        for record in files:
            if record.status is FileStatus.CANCELED:
                continue
            review = self._reviews.get_review(record.review_id) if record.review_id else None
            if review is None or not review.publish_when_approved:
                return False
        return True

    # --- reading ------------------------------------------------------------------------------

    def get(self, review_id: str) -> ReviewRecord:
        review = self._reviews.get_review(review_id)
        if review is None:
            raise NotFoundError("There is no review with this id.")
        return review

    def open_reviews(self, limit: int) -> list[ReviewRecord]:
        return self._reviews.open_reviews(limit)

    def describe(self, review_id: str) -> dict[str, Any]:
        """The review for the admin API: fresh URLs while open, the quarantine once rejected."""
        review = self.get(review_id)
        record = self._store.get_file(review.session_token, review.file_id)
        body: dict[str, Any] = review_json(review)
        if record is None:
            return body
        if review.state is ReviewState.OPEN and record.status is FileStatus.REVIEWING:
            body["announcement"] = self.announcement(review, record)
        if record.quarantine_key:
            body["quarantine_url"] = self._objects.presigned_get(
                record.quarantine_key, expires=self.config.url_seconds, filename=record.filename
            )
        return body

    # --- verdicts -----------------------------------------------------------------------------

    def give_verdict(
        self, review_id: str, reviewer: str, decision: Decision, reason: str | None
    ) -> ReviewRecord:
        """Record one reviewer's verdict and settle the file if it decides it.

        A repeat of a verdict already recorded is answered as the first was (and settles
        the file again, in case the first request died half-way); any other verdict on a
        review that is not open is ``ReviewClosedError``.
        """
        if reviewer not in self.config.reviewers:
            raise InvalidRequestError(
                f"{reviewer!r} is not one of this index's reviewers "
                f"({', '.join(self.config.reviewers) or 'none are configured'})."
            )
        if decision is Decision.REJECT and not (reason or "").strip():
            raise InvalidRequestError("A rejection needs a reason; it becomes the file's notice.")
        review = self.get(review_id)
        if reviewer not in review.verdicts:
            if review.state is ReviewState.OPEN and not self._still_reviewing(review):
                self._settle(review, timed_out=False, withdraw=True)
                review = self.get(review_id)
            if review.state is not ReviewState.OPEN:
                raise ReviewClosedError(
                    f"The file's review is {review.state}; it takes no verdict."
                )
            verdict = ReviewVerdict(decision=decision, reason=reason, at=self._clock())
            try:
                review = self._reviews.add_verdict(review_id, reviewer, verdict)
            except StateChangedError:
                review = self.get(review_id)  # a concurrent verdict or the sweeper won
        given = review.verdicts.get(reviewer)
        if given is None:
            raise ReviewClosedError(f"The file's review is {review.state}; it takes no verdict.")
        if given.decision is not decision or (given.reason or None) != (reason or None):
            raise ReviewClosedError(
                f"{reviewer} already gave its verdict on this file ({given.decision}); a "
                "verdict cannot be changed."
            )
        self._settle(review, timed_out=False)
        return self.get(review_id)

    def expire_due(self) -> int:
        """The sweeper: apply each project's timeout policy to reviews past their deadline."""
        settled = 0
        for due in self._reviews.due_reviews(self._clock()):
            review = self._reviews.get_review(due.review_id)
            if review is not None and review.state is ReviewState.OPEN:
                self._settle(review, timed_out=True)
                settled += 1
        return settled

    def _still_reviewing(self, review: ReviewRecord) -> bool:
        """Whether the file still waits for this review (its session not canceled)."""
        session = self._store.get_session(review.session_token)
        record = self._store.get_file(review.session_token, review.file_id)
        return (
            session is not None
            and record is not None
            and record.review_id == review.review_id
            and record.effective_status(session, self._clock()) is FileStatus.REVIEWING
        )

    def _settle(self, review: ReviewRecord, *, timed_out: bool, withdraw: bool = False) -> None:
        decision = review.outcome()
        if decision is None:
            if not (timed_out or withdraw):
                return  # waiting for the other reviewers
            decision = review.on_timeout
        else:
            timed_out = False
        now = self._clock()
        session = self._store.get_session(review.session_token)
        record = self._store.get_file(review.session_token, review.file_id)
        if record is None or session is None or record.review_id != review.review_id:
            self._reviews.close_review(review.review_id, ReviewState.WITHDRAWN, at=now)
            return
        if record.status is not FileStatus.REVIEWING:
            # Settled before (a request or sweep that died before closing the review).
            state = {
                FileStatus.COMPLETED: ReviewState.APPROVED,
                FileStatus.ERROR: ReviewState.REJECTED,
            }.get(record.status, ReviewState.WITHDRAWN)
            self._reviews.close_review(review.review_id, state, at=now)
            return
        if session.effective_status(now) is SessionStatus.CANCELED:
            # Its bytes are purged with the session: nothing is left to approve or keep.
            self._reviews.close_review(review.review_id, ReviewState.WITHDRAWN, at=now)
            return
        notices = review.notices(decision, timed_out=timed_out)
        if decision is Decision.APPROVE:
            with contextlib.suppress(StateChangedError):
                self._store.move_file(
                    record, APPROVE, at=now, changes={"notices": record.notices + notices}
                )
            self._reviews.close_review(review.review_id, ReviewState.APPROVED, at=now)
            if review.publish_when_approved:
                self._publish_legacy(session)
        else:
            kept = quarantine_key(review)
            self._objects.copy(record.staged_key, kept)
            with contextlib.suppress(StateChangedError):
                self._store.move_file(
                    record,
                    REJECT_REVIEW,
                    at=now,
                    changes={"notices": notices, "quarantine_key": kept},
                )
            self._staging.delete_prefix(f"{STAGING_PREFIX}{record.session_token}/{record.file_id}/")
            folder = stored_folder(record.staged_key)
            if folder is not None:  # bytes stored in place; a rejected file is never published
                self._staging.delete_prefix(folder)
            self._reviews.close_review(review.review_id, ReviewState.REJECTED, at=now)
        logger.info(
            "review settled",
            extra={"review": review.review_id, "decision": str(decision), "timed_out": timed_out},
        )

    def _publish_legacy(self, session: SessionRecord) -> None:
        """A legacy upload's one-file session publishes once its file is approved, as the
        legacy API would have without reviewers (the publisher does the rest)."""
        # A file rejected earlier stays behind in error; the others go out without it.
        listed = self._store.list_files(session.token)
        files = [f for f in listed if f.status is FileStatus.COMPLETED]
        waiting = (FileStatus.PENDING, FileStatus.PROCESSING, FileStatus.REVIEWING)
        if not files or any(f.status in waiting for f in listed):
            return
        current = self._store.get_session(session.token)
        if current is None or current.status is not SessionStatus.OPEN:
            return
        try:
            self._store.begin_publish(current, [f.filename for f in files], at=self._clock())
        except (StateChangedError, FilenameTakenError) as error:
            logger.info("legacy upload not published after review", extra={"why": str(error)})
            return
        self._staging.put_bytes(
            publish_request_key(session.token),
            json.dumps({"session": session.token, "requested_at": iso(self._clock())}).encode(),
            "application/json",
        )


def review_json(review: ReviewRecord) -> dict[str, Any]:
    return {
        "review_id": review.review_id,
        "project": review.project,
        "version": review.version,
        "filename": review.filename,
        "state": str(review.state),
        "reviewers": list(review.reviewers),
        "verdicts": {
            name: {"decision": str(v.decision), "reason": v.reason, "at": iso(v.at)}
            for name, v in sorted(review.verdicts.items())
        },
        "deadline": iso(review.deadline),
        "on_timeout": str(review.on_timeout),
    }


def _provenance(objects: ObjectStore, record: FileRecord, expires: int) -> dict[str, Any] | None:
    if not (record.provenance_publisher and record.provenance_key):
        return None
    try:
        publisher = json.loads(record.provenance_publisher)
    except ValueError:
        publisher = None
    return {
        "publisher": publisher,
        "url": objects.presigned_get(record.provenance_key, expires=expires),
    }
