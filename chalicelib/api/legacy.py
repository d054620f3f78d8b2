"""`POST /legacy/`: the upload API that twine and `uv publish` speak, answered as PyPI does."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalice import Blueprint, Response

from ..domain.errors import (
    AuthenticationError,
    InvalidRequestError,
    PayloadTooLargeError,
    RevokedTokenError,
    UnsupportedMediaTypeError,
    WharfError,
)
from ..observability import logger
from ..wiring import container
from .auth import principal_of
from .http import ALL_METHODS, ANY_CONTENT, body_bytes, method_of
from .problems import WWW_AUTHENTICATE, _status_for
from .upload_http import base_url, session_body, upload_response

if TYPE_CHECKING:
    from ..services.legacy import LegacyUpload

bp = Blueprint(__name__)
MAX_FORM_BYTES = 8 * 1024 * 1024


def parse_form(content_type: str, body: bytes) -> LegacyUpload:
    """A ``multipart/form-data`` body as its fields and its one ``content`` file."""
    if not content_type.lower().startswith("multipart/form-data"):
        raise UnsupportedMediaTypeError("Send the upload as multipart/form-data.")
    # The email package (3 ms) and the legacy service (it brings the validator) are imported
    # by the one route that needs them: an install's cold start loads neither.
    import email.parser
    import email.policy

    from ..services.legacy import LegacyUpload

    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body
    )
    if not message.is_multipart():
        raise InvalidRequestError("The multipart/form-data body could not be parsed.")
    fields: dict[str, list[str]] = {}
    filename, content = None, None
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not name:
            continue
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes):  # a part that is itself multipart has no bytes
            payload = b""
        if name == "content":
            filename = part.get_filename()
            content = payload
        else:
            fields.setdefault(str(name), []).append(payload.decode("utf-8", "replace"))
    if content is None or not filename:
        raise InvalidRequestError("The upload has no 'content' file.")
    return LegacyUpload(fields=fields, filename=filename, content=content)


def _text(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    """twine and uv print the body of a failed upload: say it plainly there."""
    return Response(
        body=f"{status} {message}\n",
        status_code=status,
        headers={"Content-Type": "text/plain; charset=utf-8", **(headers or {})},
    )


@bp.route("/legacy", methods=ALL_METHODS, content_types=ANY_CONTENT)
def legacy_upload() -> Response:
    request = bp.current_request
    try:
        method_of(request, "POST")
        principal = principal_of(request)
        body = body_bytes(request)
        if len(body) > MAX_FORM_BYTES:
            raise PayloadTooLargeError(
                "The upload is too large for the legacy API; use `wharf upload`."
            )
        upload = parse_form(request.headers.get("content-type") or "", body)
        result = container().legacy.upload(principal, upload)
    except RevokedTokenError:
        return _text(403, "Invalid or non-existent authentication information: token revoked.")
    except AuthenticationError as error:
        return _text(401, error.detail, {"WWW-Authenticate": WWW_AUTHENTICATE})
    except WharfError as error:
        status, _, _ = _status_for(error)
        return _text(status, error.detail, getattr(error, "headers", None))
    except Exception:
        logger.exception("legacy upload failed")
        return _text(500, "The server failed to handle this upload.")
    if result.pending:
        # Reviewers have not decided within the wait. twine and `uv publish` take any 2xx
        # as uploaded (tests/e2e/test_review.py); the file is published once approved.
        return Response(
            body="202 Accepted: the file is under review; it is published once approved\n",
            status_code=202,
            headers={"Content-Type": "text/plain; charset=utf-8"},
        )
    if result.staged is not None:
        base = base_url(request, container().settings)
        return upload_response(session_body(result.staged, base), 200)
    return Response(
        body="OK\n", status_code=200, headers={"Content-Type": "text/plain; charset=utf-8"}
    )
