"""Request helpers shared by the blueprints."""

from __future__ import annotations

import json
from typing import Any

from chalice.app import Request

from ..domain.errors import InvalidRequestError, UnsupportedMediaTypeError


def original_path(request: Request) -> str:
    """The path as the client sent it (API Gateway and chalice strip a trailing slash
    before routing, but keep it here), including any stage prefix."""
    return str(request.context.get("path") or "/")


def json_object(request: Request, *, media_type: str = "application/json") -> dict[str, Any]:
    """The request body as a JSON object; 415 for another content type, 400 for bad JSON."""
    content_type = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    if content_type != media_type:
        raise UnsupportedMediaTypeError(
            f"Send the request body as {media_type} (got {content_type or 'no content type'})."
        )
    try:
        body = json.loads(request.raw_body or b"")
    except (ValueError, UnicodeDecodeError) as error:
        raise InvalidRequestError(f"The request body is not valid JSON: {error}.") from None
    if not isinstance(body, dict):
        raise InvalidRequestError("The request body must be a JSON object.")
    return body


def validation_errors(error: Any) -> list[dict[str, Any]]:
    """A pydantic ``ValidationError`` as problem-document ``errors`` entries."""
    out = []
    for item in error.errors(include_url=False, include_input=False):
        location = ".".join(str(part) for part in item["loc"]) or None
        message = str(item["msg"]).removeprefix("Value error, ")
        out.append({"source": location, "message": message})
    return out
