"""RFC 9457 problem documents, and the one table from domain errors to HTTP statuses."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any, ParamSpec

from chalice import Response

from ..domain.errors import (
    AlreadyPublishedError,
    AuthenticationError,
    ConflictError,
    FileInSessionError,
    FilenameTakenError,
    FileNotPendingError,
    FilesNotCompletedError,
    FileTooLargeError,
    InvalidRequestError,
    MechanismMismatchError,
    MethodNotAllowedError,
    MissingPermissionError,
    MixedUploadPathsError,
    NotAcceptableError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    ReviewClosedError,
    SessionExistsError,
    SessionNotEditableError,
    StateChangedError,
    UnprocessableError,
    UnsupportedMediaTypeError,
    WharfError,
)
from ..observability import logger

P = ParamSpec("P")

PROBLEM_CONTENT_TYPE = "application/problem+json"
# Problem types are documented in docs/problems.md, one heading per slug.
PROBLEM_TYPE_BASE = "urn:wharf:problem:"
WWW_AUTHENTICATE = 'Basic realm="wharf"'

_TABLE: dict[type[WharfError], tuple[int, str, str]] = {
    InvalidRequestError: (400, "invalid-request", "Invalid request"),
    AuthenticationError: (401, "authentication-required", "Authentication required"),
    PermissionDeniedError: (403, "permission-denied", "Permission denied"),
    MissingPermissionError: (403, "missing-permission", "Missing permission"),
    NotFoundError: (404, "not-found", "Not found"),
    MethodNotAllowedError: (405, "method-not-allowed", "Method not allowed"),
    NotAcceptableError: (406, "not-acceptable", "Not acceptable"),
    ConflictError: (409, "conflict", "Conflict"),
    # Conflicts a client acts on differently, each its own type (the most specific class wins).
    SessionExistsError: (409, "session-exists", "A session for this release is in progress"),
    StateChangedError: (409, "state-changed", "Changed by a concurrent request"),
    SessionNotEditableError: (409, "session-not-editable", "Session takes no changes"),
    AlreadyPublishedError: (409, "already-published", "Already published"),
    FilenameTakenError: (409, "filename-taken", "Filename taken"),
    FileInSessionError: (409, "file-in-session", "File already in the session"),
    FilesNotCompletedError: (409, "files-not-completed", "Files not completed"),
    FileNotPendingError: (409, "file-not-pending", "File upload session not pending"),
    MechanismMismatchError: (409, "mechanism-mismatch", "Another upload mechanism"),
    FileTooLargeError: (409, "file-too-large", "File too large"),
    MixedUploadPathsError: (409, "mixed-upload-paths", "Session opened by the other upload API"),
    ReviewClosedError: (409, "review-closed", "Review no longer open"),
    PayloadTooLargeError: (413, "payload-too-large", "Payload too large"),
    UnsupportedMediaTypeError: (415, "unsupported-media-type", "Unsupported media type"),
    UnprocessableError: (422, "unprocessable", "Unprocessable content"),
}
_INTERNAL = (500, "internal-error", "Internal server error")


def _status_for(error: WharfError) -> tuple[int, str, str]:
    for cls in type(error).__mro__:
        if cls in _TABLE:
            return _TABLE[cls]
    return _INTERNAL


def problem(
    status: int,
    slug: str,
    title: str,
    detail: str,
    *,
    errors: list[dict[str, Any]] | None = None,
    meta: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    body = {
        "type": PROBLEM_TYPE_BASE + slug,
        "title": title,
        "status": status,
        "detail": detail,
        # PEP 694's example spells the member "details"; clients written from it read that.
        "details": detail,
        "meta": meta or {},
        "errors": errors or [],
    }
    all_headers: dict[str, str | list[str]] = {
        "Content-Type": PROBLEM_CONTENT_TYPE,
        **(headers or {}),
    }
    if status == 401:
        all_headers["WWW-Authenticate"] = WWW_AUTHENTICATE
    return Response(body=json.dumps(body), status_code=status, headers=all_headers)


def problem_for(error: WharfError, *, meta: dict[str, Any] | None = None) -> Response:
    status, slug, title = _status_for(error)
    return problem(status, slug, title, error.detail, errors=error.errors, meta=meta)


def problem_responses_with(
    meta: dict[str, Any] | None = None,
) -> Callable[[Callable[P, Response]], Callable[P, Response]]:
    """Turn domain errors raised by a view into problem documents carrying ``meta``.

    Chalice's middleware never sees exceptions raised in views, so every view
    carries this decorator; anything unexpected is logged and answered 500.
    """

    def decorate(view: Callable[P, Response]) -> Callable[P, Response]:
        @functools.wraps(view)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> Response:
            try:
                return view(*args, **kwargs)
            except WharfError as error:
                response = problem_for(error, meta=meta)
                response.headers.update(getattr(error, "headers", {}))
                return response
            except Exception:
                logger.exception("unhandled error in view")
                status, slug, title = _INTERNAL
                return problem(
                    status, slug, title, "The server failed to handle this request.", meta=meta
                )

        return wrapper

    return decorate


problem_responses = problem_responses_with()
