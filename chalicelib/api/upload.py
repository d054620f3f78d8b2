"""The Upload 2.0 API (PEP 694): publishing sessions and file upload sessions.

Each route answers every method so that an unsupported one gets a problem
document (405) rather than the gateway's own reply.
"""

from __future__ import annotations

from chalice import Blueprint, Response

from ..domain.errors import (
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    RevokedTokenError,
    SessionExistsError,
)
from ..domain.tokens import Principal
from ..wiring import container
from .auth import principal_of
from .http import ALL_METHODS, ANY_CONTENT, method_of
from .upload_http import (
    base_url,
    check_accept,
    extend_seconds,
    file_body,
    file_url,
    parts_body,
    session_body,
    session_list_body,
    session_url,
    upload_json,
    upload_problems,
    upload_response,
)

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
    body = upload_json(bp.current_request)
    try:
        session = container().sessions.create(principal, body.get("name"), body.get("version"))
    except SessionExistsError as error:
        error.headers = {"Location": session_url(base, error.token)}  # type: ignore[attr-defined]
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
    seconds = extend_seconds(upload_json(bp.current_request))
    view = container().sessions.extend(principal, token, seconds)
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
    body = upload_json(bp.current_request)
    wharf_meta = body["meta"].get("_wharf")
    hint = wharf_meta.get("part-size") if isinstance(wharf_meta, dict) else None
    view = container().files.create(
        principal,
        token,
        filename=body.get("filename"),
        size=body.get("size"),
        hashes=body.get("hashes"),
        mechanism=body.get("mechanism"),
        part_size_hint=hint,
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
    seconds = extend_seconds(upload_json(bp.current_request))
    view = container().files.extend(principal, token, file_id, seconds)
    return upload_response(file_body(view, base), 200)


@bp.route("/upload/{token}/files/{file_id}/bytes", methods=ALL_METHODS, content_types=ANY_CONTENT)
@upload_problems
def file_bytes(token: str, file_id: str) -> Response:
    """``http-post-bytes``: the raw file as the body."""
    _only("POST")
    request = bp.current_request
    principal = _principal()
    content_type = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    body = request.raw_body or b""
    container().files.receive_bytes(principal, token, file_id, body, content_type)
    return upload_response(None, 204)


@bp.route("/upload/{token}/files/{file_id}/parts", methods=ALL_METHODS, content_types=ANY_CONTENT)
@upload_problems
def file_parts(token: str, file_id: str) -> Response:
    """The multipart mechanism: parts S3 holds, and presigned URLs for the parts asked for
    (``{"parts": [numbers]}``, at most 1000 a request)."""
    method = _only("GET", "POST")
    principal, _ = _caller()
    wanted: list[int] = []
    if method == "POST":
        body = upload_json(bp.current_request)
        raw = body.get("parts", [])
        valid = isinstance(raw, list) and len(raw) <= 1000
        if not valid or not all(isinstance(n, int) and not isinstance(n, bool) for n in raw):
            raise InvalidRequestError(
                "'parts' must be a list of at most 1000 part numbers.",
                errors=[{"source": "parts", "message": "list of integers"}],
            )
        wanted = sorted(set(raw))
    view = container().files.parts(principal, token, file_id, wanted)
    return upload_response(parts_body(view), 200)


@bp.route("/upload/{token}/{rest}", methods=ALL_METHODS, content_types=ANY_CONTENT)
@upload_problems
def unknown_session_path(token: str, rest: str) -> Response:
    raise NotFoundError("No such Upload 2.0 resource.")


@bp.route("/upload/{token}/files/{file_id}/{rest}", methods=ALL_METHODS, content_types=ANY_CONTENT)
@upload_problems
def unknown_file_path(token: str, file_id: str, rest: str) -> Response:
    raise NotFoundError("No such Upload 2.0 resource.")
