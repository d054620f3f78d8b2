"""PEP 740 over HTTP: a file's attestations before completion (PEP 694 ``attestations_url``)
and a published file's provenance object (the Integrity API, at PyPI's path)."""

from __future__ import annotations

from urllib.parse import unquote

from chalice import Blueprint, Response
from packaging.utils import canonicalize_name

from ..domain.errors import NotAcceptableError, PermissionDeniedError, RevokedTokenError
from ..domain.provenance import INTEGRITY_MEDIA_TYPE
from ..wiring import container
from .auth import principal_of
from .http import ALL_METHODS, ANY_CONTENT, method_of
from .problems import problem_responses
from .upload_http import check_accept, upload_problems, upload_response

bp = Blueprint(__name__)


@bp.route(
    "/upload/{token}/files/{file_id}/attestations", methods=ALL_METHODS, content_types=ANY_CONTENT
)
@upload_problems
def file_attestations(token: str, file_id: str) -> Response:
    request = bp.current_request
    method_of(request, "POST")
    try:
        principal = principal_of(request)
    except RevokedTokenError as error:
        raise PermissionDeniedError("This token has been revoked.") from error
    check_accept(request)
    content_type = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    raw = request.raw_body or b""
    body = raw.encode() if isinstance(raw, str) else raw
    taken = container().provenance.submit(principal, token, file_id, body, content_type)
    return upload_response({"attestations": taken}, 200)


def _check_accept(accept: str | None) -> str:
    """The Integrity API answers JSON (PyPI: its own type preferred, application/json too)."""
    if not accept or not accept.strip():
        return INTEGRITY_MEDIA_TYPE
    for part in accept.split(","):
        media, *params = (p.strip().lower() for p in part.split(";"))
        if any(p.replace(" ", "") in ("q=0", "q=0.0", "q=0.00", "q=0.000") for p in params):
            continue
        if media in (INTEGRITY_MEDIA_TYPE, "application/*", "*/*"):
            return INTEGRITY_MEDIA_TYPE
        if media == "application/json":
            return "application/json"
    raise NotAcceptableError(
        f"The Integrity API answers in {INTEGRITY_MEDIA_TYPE} or application/json."
    )


@bp.route(
    "/integrity/{project}/{version}/{filename}/provenance",
    methods=ALL_METHODS,
    content_types=ANY_CONTENT,
)
@problem_responses
def provenance(project: str, version: str, filename: str) -> Response:
    request = bp.current_request
    method_of(request, "GET")
    principal = principal_of(request)
    media = _check_accept(request.headers.get("accept"))
    body = container().provenance.provenance(
        principal, canonicalize_name(project), unquote(version), unquote(filename)
    )
    return Response(
        body=body.decode("utf-8"),
        status_code=200,
        headers={"Content-Type": media, "Vary": "Accept", "Cache-Control": "private, max-age=600"},
    )
