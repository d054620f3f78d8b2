"""The review store's contract, on the fake and on DynamoDB (moto)."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from chalicelib.domain.errors import StateChangedError
from chalicelib.domain.review import (
    Decision,
    ReviewPolicy,
    ReviewRecord,
    ReviewState,
    ReviewVerdict,
    review_id_for,
)
from tests.adapters.conftest import NOW


def review(file_id: str = "f1", *, minutes: int = 10) -> ReviewRecord:
    return ReviewRecord(
        review_id=review_id_for("token", file_id),
        session_token="token",
        file_id=file_id,
        project="acme-tools",
        version="1.0",
        filename="acme_tools-1.0-py3-none-any.whl",
        reviewers=("scanner", "human"),
        opened_at=NOW,
        deadline=NOW + timedelta(minutes=minutes),
        on_timeout=Decision.REJECT,
    )


def verdict(decision: Decision = Decision.APPROVE, reason: str | None = None) -> ReviewVerdict:
    return ReviewVerdict(decision=decision, reason=reason, at=NOW)


@pytest.fixture
def store(backend):
    return backend.stores.reviews


def test_opening_twice_keeps_the_first(store):
    first = store.open_review(review())
    second = store.open_review(review().model_copy(update={"on_timeout": Decision.APPROVE}))
    assert second.on_timeout is Decision.REJECT
    assert store.get_review(first.review_id) == first
    assert store.get_review("0" * 32) is None


def test_a_verdict_is_recorded_once_per_reviewer(store):
    opened = store.open_review(review())
    after = store.add_verdict(opened.review_id, "scanner", verdict(Decision.REJECT, "bad"))
    assert after.verdicts == {"scanner": verdict(Decision.REJECT, "bad")}
    with pytest.raises(StateChangedError) as again:
        store.add_verdict(opened.review_id, "scanner", verdict())
    assert again.value.current == "decided"
    both = store.add_verdict(opened.review_id, "human", verdict())
    assert set(both.verdicts) == {"scanner", "human"}
    assert store.get_review(opened.review_id) == both


def test_a_closed_review_takes_no_verdict_and_closes_once(store):
    opened = store.open_review(review())
    assert store.close_review(opened.review_id, ReviewState.APPROVED, at=NOW) is True
    assert store.close_review(opened.review_id, ReviewState.REJECTED, at=NOW) is False
    with pytest.raises(StateChangedError) as refused:
        store.add_verdict(opened.review_id, "human", verdict())
    assert refused.value.current == "approved"
    stored = store.get_review(opened.review_id)
    assert stored.state is ReviewState.APPROVED and stored.closed_at == NOW
    with pytest.raises(StateChangedError):
        store.add_verdict("f" * 32, "human", verdict())


def test_due_reviews_are_open_ones_past_their_deadline_soonest_first(store):
    late = store.open_review(review("late", minutes=20))
    soon = store.open_review(review("soon", minutes=5))
    closed = store.open_review(review("closed", minutes=1))
    store.open_review(review("future", minutes=60))
    store.close_review(closed.review_id, ReviewState.WITHDRAWN, at=NOW)
    due = store.due_reviews(NOW + timedelta(minutes=30))
    assert [r.review_id for r in due] == [soon.review_id, late.review_id]
    assert store.due_reviews(NOW + timedelta(minutes=5)) == []
    listed = [r.review_id for r in store.open_reviews(10)]
    assert listed == [soon.review_id, late.review_id, review("future").review_id]
    assert [r.review_id for r in store.open_reviews(1)] == [soon.review_id]


def test_policies_are_per_project(store):
    assert store.policy("acme-tools") is None
    policy = ReviewPolicy(on_timeout=Decision.APPROVE, timeout_seconds=90)
    store.set_policy("acme-tools", policy)
    store.set_policy("acme-tools", policy.model_copy(update={"timeout_seconds": 120}))
    assert store.policy("acme-tools") == ReviewPolicy(on_timeout="approve", timeout_seconds=120)
    assert store.policy("other") is None


def test_racing_verdicts_of_one_reviewer_record_one(store):
    opened = store.open_review(review())
    outcomes: list[bool] = []
    barrier = threading.Barrier(6)

    def race(i: int) -> None:
        barrier.wait()
        try:
            store.add_verdict(opened.review_id, "scanner", verdict(Decision.REJECT, f"r{i}"))
            outcomes.append(True)
        except StateChangedError:
            outcomes.append(False)

    threads = [threading.Thread(target=race, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == [False] * 5 + [True]
