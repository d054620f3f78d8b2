"""Request helpers shared by the blueprints."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from ..domain.errors import (
    InvalidRequestError,
    MethodNotAllowedError,
    PayloadTooLargeError,
    UnsupportedMediaTypeError,
)

if TYPE_CHECKING:
    from chalice.app import Request

# Every route answers every method: API Gateway's own answer to a method a resource lacks
# is a 403 that quotes the request's Authorization header. The view says 405 instead.
ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
ANY_CONTENT = ["*/*"]
MAX_JSON_BODY = 64 * 1024


def body_bytes(request: Request) -> bytes:
    """The request body. Chalice types ``raw_body`` as text or bytes; wharf's routes get
    bytes from API Gateway (and chalice local), text only from a hand-built event."""
    raw = request.raw_body or b""
    return raw.encode("utf-8") if isinstance(raw, str) else raw


def method_of(request: Request, *allowed: str) -> str:
    """The method to act on, or ``MethodNotAllowedError`` (405 with ``Allow``).

    ``HEAD`` is answered wherever ``GET`` is, as ``GET`` (the app's middleware drops
    the body), so a view never has to tell the two apart.
    """
    offered = list(allowed)
    if "GET" in offered and "HEAD" not in offered:
        offered.insert(offered.index("GET") + 1, "HEAD")
    method = request.method
    if method not in offered:
        error = MethodNotAllowedError(f"{method} is not allowed here; use {', '.join(offered)}.")
        error.headers = {"Allow": ", ".join(offered)}
        raise error
    return "GET" if method == "HEAD" else method


def without_body_for_head(method: str, response: Any) -> Any:
    """A ``HEAD`` answer: the ``GET`` answer's status and headers, its length, no body."""
    if method != "HEAD":
        return response
    body = response.body
    if body is None:
        length = 0
    elif isinstance(body, bytes):
        length = len(body)
    elif isinstance(body, str):
        length = len(body.encode("utf-8"))
    else:
        length = len(json.dumps(body).encode("utf-8"))
    response.body = ""
    response.headers["Content-Length"] = str(length)
    return response


def original_path(request: Request) -> str:
    """The path as the client sent it (API Gateway and chalice strip a trailing slash
    before routing, but keep it here), including any stage prefix."""
    return str(request.context.get("path") or "/")


# No wharf request nests deeper than a few levels; a cap keeps hostile bodies (a 40 KB
# body of brackets) from exhausting the parser's recursion or anything that walks them.
MAX_JSON_DEPTH = 16


def _too_deep(value: Any) -> bool:
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            return True
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return False


def parse_json_object(raw: bytes) -> dict[str, Any]:
    """A request body as a JSON object of bounded depth; ``InvalidRequestError`` otherwise."""
    try:
        body = json.loads(raw)
    except RecursionError:
        raise InvalidRequestError(
            f"The request body nests deeper than {MAX_JSON_DEPTH} levels."
        ) from None
    except (ValueError, UnicodeDecodeError) as error:
        raise InvalidRequestError(f"The request body is not valid JSON: {error}.") from None
    if not isinstance(body, dict):
        raise InvalidRequestError("The request body must be a JSON object.")
    if _too_deep(body):
        raise InvalidRequestError(f"The request body nests deeper than {MAX_JSON_DEPTH} levels.")
    return body


def json_object(request: Request, *, media_type: str = "application/json") -> dict[str, Any]:
    """The request body as a JSON object; 415 for another content type, 400 for bad JSON."""
    content_type = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    if content_type != media_type:
        raise UnsupportedMediaTypeError(
            f"Send the request body as {media_type} (got {content_type or 'no content type'})."
        )
    raw = body_bytes(request)
    if len(raw) > MAX_JSON_BODY:
        raise PayloadTooLargeError(f"A request body may be at most {MAX_JSON_BODY} bytes.")
    return parse_json_object(raw)
