"""Reviews: the operator's reviewers decide on each validated file before it counts as
``completed`` (docs/review.md). Pure: the records, the policy and how verdicts settle."""

from __future__ import annotations

import hashlib
import re
from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import ConfigDict, Field, field_validator

from .model import WharfModel

# A reviewer's name appears in notices and item attributes: short and plain.
REVIEWER_PATTERN = r"^[a-z0-9][a-z0-9-]{0,39}$"
MAX_REASON_LENGTH = 1000


class Decision(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"


class ReviewState(StrEnum):
    OPEN = "open"
    APPROVED = "approved"
    REJECTED = "rejected"
    # The file's session was canceled (or the file left review some other way) first.
    WITHDRAWN = "withdrawn"


class ReviewPolicy(WharfModel):
    """What silence means for a project: after ``timeout_seconds`` without every verdict,
    the file is approved or rejected as ``on_timeout`` says."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    on_timeout: Decision = Decision.REJECT
    timeout_seconds: int = Field(default=3600, ge=1, le=30 * 24 * 3600)


class ReviewVerdict(WharfModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    decision: Decision
    reason: str | None = None
    at: datetime


class ReviewRecord(WharfModel):
    """One file's review: who must decide, what they said, and when silence decides."""

    model_config = ConfigDict(frozen=True)

    review_id: str
    session_token: str
    file_id: str
    project: str
    version: str
    filename: str
    reviewers: tuple[str, ...]
    opened_at: datetime
    deadline: datetime
    on_timeout: Decision
    # The legacy API's upload: publish its one-file session once the file is approved.
    publish_when_approved: bool = False
    state: ReviewState = ReviewState.OPEN
    verdicts: dict[str, ReviewVerdict] = {}
    closed_at: datetime | None = None

    @field_validator("verdicts", mode="before")
    @classmethod
    def _none_is_empty(cls, value: object) -> object:
        return value or {}

    def outcome(self) -> Decision | None:
        """What the verdicts so far decide: one rejection rejects; approval needs all."""
        if any(v.decision is Decision.REJECT for v in self.verdicts.values()):
            return Decision.REJECT
        if all(r in self.verdicts for r in self.reviewers):
            return Decision.APPROVE
        return None

    def notices(self, decision: Decision, *, timed_out: bool) -> tuple[str, ...]:
        """The file's notices for a settled review (a rejection's reason is the notice)."""
        if timed_out:
            silent = ", ".join(r for r in self.reviewers if r not in self.verdicts)
            verb = "approved" if decision is Decision.APPROVE else "rejected"
            return (f"review: {verb} by the project's timeout policy; no verdict from {silent}",)
        if decision is Decision.REJECT:
            return tuple(
                f"review: rejected by {name}: {v.reason or 'no reason given'}"
                for name, v in sorted(self.verdicts.items())
                if v.decision is Decision.REJECT
            )
        return ()


def review_id_for(session_token: str, file_id: str) -> str:
    """The same file always gets the same review id (a redelivered event opens no second
    review), and the id does not reveal the session token (a preview credential)."""
    digest = hashlib.sha256(f"review\0{session_token}\0{file_id}".encode()).hexdigest()
    return digest[:32]


def deadline_for(opened_at: datetime, policy: ReviewPolicy) -> datetime:
    return opened_at + timedelta(seconds=policy.timeout_seconds)


def parse_reviewers(raw: str | None) -> tuple[str, ...]:
    """``WHARF_REVIEWERS``: comma-separated names; empty means no review step."""
    names = tuple(dict.fromkeys(n.strip() for n in (raw or "").split(",") if n.strip()))
    for name in names:
        if not re.match(REVIEWER_PATTERN, name):
            raise ValueError(f"invalid reviewer name {name!r}: use a-z, 0-9 and '-'")
    return names
