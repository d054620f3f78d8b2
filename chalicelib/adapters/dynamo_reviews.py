"""Reviews in the single table (docs/review.md).

  REVIEW#<review id> / REVIEW             one file's review: its reviewers and verdicts
  REVIEW-POLICY#<project> / POLICY        the project's timeout policy (admin API)
  GSI1: REVIEWS-OPEN  <deadline>#<id>     open reviews, soonest deadline first (the sweeper)

A verdict is a map entry ``verdicts.<reviewer>`` written only while the review is open and
the reviewer has none, so two deliveries of one verdict record it once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..domain.clock import iso
from ..domain.errors import StateChangedError
from ..domain.review import ReviewPolicy, ReviewRecord, ReviewState, ReviewVerdict
from .dynamo_table import (
    GSI1_PK,
    GSI1_SK,
    Action,
    ConditionFailed,
    Expr,
    Key,
    Table,
    Update,
    absent,
    attribute_is,
    storable,
)

REVIEWS_OPEN = "REVIEWS-OPEN"


def review_key(review_id: str) -> Key:
    return {"PK": f"REVIEW#{review_id}", "SK": "REVIEW"}


def policy_key(project: str) -> Key:
    return {"PK": f"REVIEW-POLICY#{project}", "SK": "POLICY"}


def _record(item: dict[str, Any]) -> ReviewRecord:
    return ReviewRecord.model_validate(item)


class DynamoReviewStore:
    def __init__(self, client: Any, table_name: str) -> None:
        self._table = Table(client, table_name)

    def open_review(self, record: ReviewRecord) -> ReviewRecord:
        item = {
            **storable(record.model_dump()),
            GSI1_PK: REVIEWS_OPEN,
            GSI1_SK: f"{iso(record.deadline)}#{record.review_id}",
        }
        try:
            self._table.write(
                Action("review", "Put", review_key(record.review_id), absent(), item=item)
            )
        except ConditionFailed as found:
            if found.item is not None:
                return _record(found.item)
        return record

    def get_review(self, review_id: str) -> ReviewRecord | None:
        item = self._table.get(review_key(review_id))
        return _record(item) if item else None

    def add_verdict(self, review_id: str, reviewer: str, verdict: ReviewVerdict) -> ReviewRecord:
        entry = Expr(
            "#verdicts.#reviewer = :verdict",
            {"#verdicts": "verdicts", "#reviewer": reviewer},
            {":verdict": storable(verdict.model_dump())},
        )
        undecided = Expr(
            "attribute_not_exists(#verdicts.#reviewer)",
            {"#verdicts": "verdicts", "#reviewer": reviewer},
        )
        condition = attribute_is("state", str(ReviewState.OPEN)) & undecided
        try:
            item = self._table.write(
                Action(
                    "review", "Update", review_key(review_id), condition, Update(raw_sets=[entry])
                ),
                returning=True,
            )
        except ConditionFailed as refused:
            found = refused.item
            if found is None:
                raise StateChangedError("There is no such review.", current=None) from refused
            current = found.get("state")
            if current == ReviewState.OPEN:
                current = "decided"
            raise StateChangedError("The review took no verdict.", current=current) from refused
        assert item is not None
        return _record(item)

    def close_review(self, review_id: str, state: ReviewState, *, at: datetime) -> bool:
        update = Update().set("state", str(state)).set("closed_at", iso(at))
        update.removes += [GSI1_PK, GSI1_SK]
        try:
            self._table.write(
                Action(
                    "review",
                    "Update",
                    review_key(review_id),
                    attribute_is("state", str(ReviewState.OPEN)),
                    update,
                )
            )
        except ConditionFailed:
            return False
        return True

    def due_reviews(self, now: datetime) -> list[ReviewRecord]:
        items = self._table.query(REVIEWS_OPEN, index=True, sort_below=iso(now))
        return [_record(item) for item in items]

    def open_reviews(self, limit: int) -> list[ReviewRecord]:
        found = []
        for item in self._table.query(REVIEWS_OPEN, index=True):
            found.append(_record(item))
            if len(found) >= limit:
                break
        return found

    def policy(self, project: str) -> ReviewPolicy | None:
        item = self._table.get(policy_key(project))
        if item is None:
            return None
        return ReviewPolicy(on_timeout=item["on_timeout"], timeout_seconds=item["timeout_seconds"])

    def set_policy(self, project: str, policy: ReviewPolicy) -> None:
        self._table.write(
            Action("policy", "Put", policy_key(project), item=storable(policy.model_dump()))
        )
