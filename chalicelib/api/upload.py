"""The Upload 2.0 API (PEP 694): publishing sessions and file upload sessions.

Each route answers every method so that an unsupported one gets a problem
document (405) rather than the gateway's own reply.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalice import Blueprint, Response

from ..domain.errors import (
    NotFoundError,
    PermissionDeniedError,
    RevokedTokenError,
    SessionExistsError,
)
from ..wiring import container
from .auth import principal_of
from .http import ALL_METHODS, ANY_CONTENT, body_bytes, method_of
from .schemas import CreateFile, CreateSession, Extend, parse_body
from .upload_http import (
    base_url,
    check_accept,
    file_body,
    file_url,
    session_body,
    session_list_body,
    session_url,
    upload_json,
    upload_problems,
    upload_response,
)

if TYPE_CHECKING:
    from ..domain.tokens import Principal

bp = Blueprint(__name__)
# Live sessions are few (they expire within a day); the cap bounds the work of one listing.
MAX_LISTED_SESSIONS = 200


def _principal() -> Principal:
    """The caller; a token revoked mid-session has lost its permission: 403, as PEP 694 says."""
    try:
        return principal_of(bp.current_request)
    except RevokedTokenError as error:
        raise PermissionDeniedError("This token has been revoked.") from error


def _caller() -> tuple[Principal, str]:
    """Authenticate (401), then check Accept (406); return the principal and the base URL."""
    principal = _principal()
    check_accept(bp.current_request)
    return principal, base_url(bp.current_request, container().settings)


def _only(*allowed: str) -> str:
    return method_of(bp.current_request, *allowed)


def _retry_after() -> dict[str, str]:
    return {"Retry-After": str(container().settings.retry_after_seconds)}


@bp.route("/upload", methods=ALL_METHODS, content_types=ANY_CONTENT)
@upload_problems
def root() -> Response:
    method = _only("GET", "POST")
    principal, base = _caller()
    if method == "GET":
        # A wharf extension (docs/upload.md): the sessions this caller may act on.
        views = container().sessions.list_live(principal, limit=MAX_LISTED_SESSIONS + 1)
        body = session_list_body(
            views[:MAX_LISTED_SESSIONS],
            base,
            principal.token_id,
            truncated=len(views) > MAX_LISTED_SESSIONS,
        )
        return upload_response(body, 200)
    wanted = parse_body(CreateSession, upload_json(bp.current_request), what="session request")
    try:
        session = container().sessions.create(principal, wanted.name, wanted.version)
    except SessionExistsError as error:
        error.headers = {"Location": session_url(base, error.token)}
        raise
    view = container().sessions.view(principal, session.token)
    return upload_response(
        session_body(view, base), 201, {"Location": session_url(base, session.token)}
    )


@bp.route("/upload/{token}", methods=ALL_METHODS, content_types=ANY_CONTENT)
@upload_problems
def publishing_session(token: str) -> Response:
    method = _only("GET", "DELETE")
    principal, base = _caller()
    sessions = container().sessions
    view = sessions.view(principal, token) if method == "GET" else sessions.cancel(principal, token)
    return upload_response(session_body(view, base), 200)


@bp.route("/upload/{token}/extend", methods=ALL_METHODS, content_types=ANY_CONTENT)
@upload_problems
def extend_session(token: str) -> Response:
    _only("POST")
    principal, base = _caller()
    body = parse_body(Extend, upload_json(bp.current_request), what="extend request")
    view = container().sessions.extend(principal, token, body.extend_for)
    return upload_response(session_body(view, base), 200)


@bp.route("/upload/{token}/publish", methods=ALL_METHODS, content_types=ANY_CONTENT)
@upload_problems
def publish_session(token: str) -> Response:
    _only("POST")
    principal, base = _caller()
    upload_json(bp.current_request)
    view = container().publisher.request(principal, token)
    return upload_response(
        session_body(view, base), 202, {"Location": session_url(base, token), **_retry_after()}
    )


@bp.route("/upload/{token}/files", methods=ALL_METHODS, content_types=ANY_CONTENT)
@upload_problems
def create_file(token: str) -> Response:
    _only("POST")
    principal, base = _caller()
    raw = upload_json(bp.current_request)
    # A session that is gone or not the caller's answers 404/403 whatever the body says.
    container().sessions.load_live(principal, token)
    body = parse_body(CreateFile, raw, what="file upload request")
    view = container().files.create(
        principal,
        token,
        filename=body.filename,
        size=body.size,
        hashes=body.hashes,
        mechanism=body.mechanism,
        part_size_hint=body.part_size_hint,
    )
    location = file_url(base, token, view.file.file_id)
    return upload_response(file_body(view, base), 202, {"Location": location, **_retry_after()})


@bp.route("/upload/{token}/files/{file_id}", methods=ALL_METHODS, content_types=ANY_CONTENT)
@upload_problems
def file_upload_session(token: str, file_id: str) -> Response:
    method = _only("GET", "DELETE")
    principal, base = _caller()
    files = container().files
    if method == "DELETE":
        files.cancel(principal, token, file_id)
        return upload_response(None, 204)
    view = files.view(principal, token, file_id)
    return upload_response(file_body(view, base), 200, _retry_after())


@bp.route(
    "/upload/{token}/files/{file_id}/complete", methods=ALL_METHODS, content_types=ANY_CONTENT
)
@upload_problems
def complete_file(token: str, file_id: str) -> Response:
    _only("POST")
    principal, base = _caller()
    upload_json(bp.current_request)
    view = container().files.complete(principal, token, file_id)
    location = file_url(base, token, file_id)
    return upload_response(file_body(view, base), 202, {"Location": location, **_retry_after()})


@bp.route("/upload/{token}/files/{file_id}/extend", methods=ALL_METHODS, content_types=ANY_CONTENT)
@upload_problems
def extend_file(token: str, file_id: str) -> Response:
    _only("POST")
    principal, base = _caller()
    body = parse_body(Extend, upload_json(bp.current_request), what="extend request")
    view = container().files.extend(principal, token, file_id, body.extend_for)
    return upload_response(file_body(view, base), 200)


@bp.route("/upload/{token}/{rest}", methods=ALL_METHODS, content_types=ANY_CONTENT)
@upload_problems
def unknown_session_path(token: str, rest: str) -> Response:
    raise NotFoundError("No such Upload 2.0 resource.")


@bp.route("/upload/{token}/files/{file_id}/{rest}", methods=ALL_METHODS, content_types=ANY_CONTENT)
@upload_problems
def mechanism_endpoint(token: str, file_id: str, rest: str) -> Response:
    """What an upload mechanism answers under a file's URL (``bytes``, ``parts``, ...)."""
    # The mechanisms are imported by the upload routes that use them, not by every cold start.
    from ..services.mechanisms import ENDPOINTS, TransferRequest

    mechanism = ENDPOINTS.get(rest)
    if mechanism is None:
        raise NotFoundError("No such Upload 2.0 resource.")
    endpoint = mechanism.endpoints[rest]
    request = bp.current_request
    method = _only(*endpoint.methods)
    principal = _principal()
    if endpoint.json_reply:
        check_accept(request)
    content_type = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    transfer = TransferRequest(
        method=method,
        content_type=content_type,
        body=body_bytes(request),
        json=lambda: upload_json(request),
    )
    reply = container().files.transfer(
        principal, token, file_id, mechanism.identifier, rest, transfer
    )
    return upload_response(reply.body, reply.status)
