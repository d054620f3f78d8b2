"""Trusted publishing: PyPI's token exchange at the root of the index's host, and the admin
API behind `wharf publisher add|list|remove`.

Clients find the exchange from the upload URL's host alone (``https://<host>/_/oidc/...``,
whatever the path), so these routes must be served at the host's root: on the local stack
they are; deployed, the API needs a custom domain mapped at its root (docs/trusted-publishing.md).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from chalice import Blueprint, Response

from ..domain.clock import rfc3339_seconds
from ..domain.errors import PermissionDeniedError
from ..domain.trusted_publishers import INVALID_PAYLOAD, MintRefused, PublisherRequest
from ..observability import logger
from ..wiring import container
from .auth import principal_of, source_of
from .http import ALL_METHODS, ANY_CONTENT, body_bytes, json_object, method_of
from .problems import problem_responses
from .schemas import parse_body

if TYPE_CHECKING:
    from ..domain.tokens import Principal

bp = Blueprint(__name__)

# A mint request is {"token": <a JWT of a few KB>}.
MAX_MINT_BODY = 32 * 1024


def _json(body: Any, status: int = 200) -> Response:
    return Response(
        body=json.dumps(body),
        status_code=status,
        headers={"Content-Type": "application/json", "Cache-Control": "no-store"},
    )


@bp.route("/_/oidc/audience", methods=ALL_METHODS, content_types=ANY_CONTENT)
@problem_responses
def audience() -> Response:
    method_of(bp.current_request, "GET")
    return _json({"audience": container().trusted_publishing.audience})


def _refused(code: str, description: str) -> Response:
    # PyPI's shape and status for every refusal, so clients print their usual message.
    return _json(
        {"message": "Token request failed", "errors": [{"code": code, "description": description}]},
        status=422,
    )


def _jwt_of(raw: bytes) -> str:
    if len(raw) > MAX_MINT_BODY:
        raise MintRefused(INVALID_PAYLOAD, f"the request body is over {MAX_MINT_BODY} bytes")
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError) as error:  # RecursionError: nested brackets
        raise MintRefused(INVALID_PAYLOAD, "the request body is not JSON") from error
    token = body.get("token") if isinstance(body, dict) else None
    if not isinstance(token, str) or set(body) != {"token"}:
        raise MintRefused(INVALID_PAYLOAD, 'the request body must be {"token": "<OIDC JWT>"}')
    return token


@problem_responses
def _mint() -> Response:
    method_of(bp.current_request, "POST")
    try:
        minted = container().trusted_publishing.mint(_jwt_of(body_bytes(bp.current_request)))
    except MintRefused as refused:
        # The reason is logged by code only: which claim failed to match stays unsaid, as
        # in the answer (an attacker probing the registry learns nothing from either).
        logger.info("token exchange refused", extra={"code": refused.code})
        container().audit.authentication_failed(
            source_of(bp.current_request), f"trusted publishing: {refused.code}"
        )
        return _refused(refused.code, refused.description)
    record = minted.issued.record
    logger.info(
        "token minted by trusted publishing",
        # Nested: an admin-pinned claim may be named like a log record's own fields.
        extra={"token_id": record.id, "publisher_id": minted.publisher.id, "claims": minted.claims},
    )
    assert record.expires_at is not None
    return _json(
        {
            "success": True,
            "token": minted.issued.secret,
            "expires": int(record.expires_at.timestamp()),
        }
    )


@bp.route("/_/oidc/mint-token", methods=ALL_METHODS, content_types=ANY_CONTENT)
def mint_token() -> Response:
    return _mint()


# The path gh-action-pypi-publish used before v1.8.12; PyPI still serves it.
@bp.route("/_/oidc/github/mint-token", methods=ALL_METHODS, content_types=ANY_CONTENT)
def mint_token_legacy() -> Response:
    return _mint()


# --- the registry (admin) ------------------------------------------------------------------


def _require_admin() -> Principal:
    principal = principal_of(bp.current_request)
    if not principal.is_admin:
        raise PermissionDeniedError(
            "Only an admin token may manage trusted publishers; this token is not one."
        )
    return principal


def publisher_json(publisher: Any) -> dict[str, Any]:
    body: dict[str, Any] = publisher.model_dump(mode="json", exclude_none=True)
    body["created_at"] = rfc3339_seconds(publisher.created_at)
    body["projects"] = list(publisher.projects)
    return body


@bp.route("/admin/publishers", methods=ALL_METHODS, content_types=ANY_CONTENT)
@problem_responses
def publishers() -> Response:
    method = method_of(bp.current_request, "GET", "POST")
    admin = _require_admin()
    service = container().trusted_publishing
    if method == "GET":
        return _json({"publishers": [publisher_json(p) for p in service.list()]})
    request = parse_body(
        PublisherRequest, json_object(bp.current_request), what="trusted publisher"
    )
    return _json(publisher_json(service.register(request, by=admin)), status=201)


@bp.route("/admin/publishers/{publisher_id}", methods=ALL_METHODS, content_types=ANY_CONTENT)
@problem_responses
def remove_publisher(publisher_id: str) -> Response:
    method_of(bp.current_request, "DELETE")
    admin = _require_admin()
    container().trusted_publishing.remove(publisher_id, by=admin)
    return Response(body="", status_code=204)
