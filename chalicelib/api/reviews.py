"""The admin API reviewers use (docs/review.md): read a review, post a verdict, and set a
project's timeout policy. Every route needs an admin token."""

from __future__ import annotations

import json
from typing import Any

from chalice import Blueprint, Response
from packaging.utils import canonicalize_name
from pydantic import ConfigDict, Field, StrictStr

from ..domain.errors import NotFoundError, PermissionDeniedError
from ..domain.model import WharfModel
from ..domain.review import MAX_REASON_LENGTH, Decision, ReviewPolicy
from ..wiring import container
from .auth import principal_of
from .http import ALL_METHODS, ANY_CONTENT, json_object, method_of
from .problems import problem_responses
from .schemas import parse_body

bp = Blueprint(__name__)

# Review ids are 32 hex digits (domain.review.review_id_for); anything else is not one.
_REVIEW_ID_LENGTH = 32


class VerdictRequest(WharfModel):
    """``POST /admin/reviews/<id>/verdicts``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    reviewer: StrictStr = Field(min_length=1, max_length=40)
    decision: Decision
    reason: StrictStr | None = Field(default=None, max_length=MAX_REASON_LENGTH)


def _require_admin() -> None:
    if not principal_of(bp.current_request).is_admin:
        raise PermissionDeniedError("Only an admin token may read or decide reviews.")


def _review_id(raw: str) -> str:
    if len(raw) != _REVIEW_ID_LENGTH or not all(c in "0123456789abcdef" for c in raw):
        raise NotFoundError("There is no review with this id.")
    return raw


def _json(body: Any, status: int = 200) -> Response:
    return Response(
        body=json.dumps(body),
        status_code=status,
        headers={"Content-Type": "application/json", "Cache-Control": "no-store"},
    )


# The list is for catching up (a reviewer started late, an admin looking): bounded, and
# soonest deadline first, which is the order a reviewer should work in.
MAX_LISTED = 500


@bp.route("/admin/reviews", methods=ALL_METHODS, content_types=ANY_CONTENT)
@problem_responses
def open_reviews() -> Response:
    """The open reviews (at most 500), soonest deadline first."""
    method_of(bp.current_request, "GET")
    _require_admin()
    listed = container().reviews.open_reviews(MAX_LISTED)
    from ..services.reviews import review_json  # the reviews' service, imported on first use

    return _json({"reviews": [review_json(r) for r in listed]})


@bp.route("/admin/reviews/{review_id}", methods=ALL_METHODS, content_types=ANY_CONTENT)
@problem_responses
def review(review_id: str) -> Response:
    """The review, with fresh download URLs while it is open (``announcement``) and the
    quarantined bytes' URL once rejected (``quarantine_url``)."""
    method_of(bp.current_request, "GET")
    _require_admin()
    return _json(container().reviews.describe(_review_id(review_id)))


@bp.route("/admin/reviews/{review_id}/verdicts", methods=ALL_METHODS, content_types=ANY_CONTENT)
@problem_responses
def verdicts(review_id: str) -> Response:
    """``{"reviewer": NAME, "decision": "approve"|"reject", "reason": TEXT}``."""
    method_of(bp.current_request, "POST")
    _require_admin()
    body = parse_body(VerdictRequest, json_object(bp.current_request), what="verdict")
    settled = container().reviews.give_verdict(
        _review_id(review_id), body.reviewer, body.decision, body.reason
    )
    from ..services.reviews import review_json  # as in the listing

    return _json(review_json(settled))


@bp.route("/admin/projects/{project}/review-policy", methods=ALL_METHODS, content_types=ANY_CONTENT)
@problem_responses
def review_policy(project: str) -> Response:
    """``{"on_timeout": "approve"|"reject", "timeout_seconds": N}``; GET shows the policy
    in force (the index's default when the admin set none)."""
    method = method_of(bp.current_request, "GET", "PUT")
    _require_admin()
    name = canonicalize_name(project)
    reviews = container().reviews
    if method == "PUT":
        policy = parse_body(ReviewPolicy, json_object(bp.current_request), what="review policy")
        reviews.set_policy(name, policy)
    current = reviews.policy(name)
    return _json(
        {
            "project": name,
            "on_timeout": str(current.on_timeout),
            "timeout_seconds": current.timeout_seconds,
        }
    )
