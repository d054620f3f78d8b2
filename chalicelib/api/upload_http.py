"""Upload 2.0 request and response conventions: media types, meta, links."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from chalice import Response

from ..domain.clock import rfc3339_seconds
from ..domain.errors import (
    InvalidRequestError,
    NotAcceptableError,
)
from ..domain.lifecycle import FILES, SESSIONS
from ..domain.sessions import API_VERSION, UPLOAD_MEDIA_TYPE, FileStatus
from .http import json_object
from .problems import problem_responses_with

if TYPE_CHECKING:
    from chalice.app import Request

    from ..services.file_uploads import FileView
    from ..services.sessions import SessionView
    from ..settings import Settings

META = {"api-version": API_VERSION}

upload_problems = problem_responses_with(META)


def base_url(request: Request, settings: Settings) -> str:
    """The absolute URL the client used to reach the API (scheme, host, stage prefix)."""
    if settings.public_url:
        return settings.public_url.rstrip("/")
    headers = request.headers
    scheme = (headers.get("x-forwarded-proto") or "http").split(",")[0].strip()
    host = headers.get("host") or "localhost"
    stage = request.context.get("stage")
    path = str(request.context.get("path") or "")
    prefix = f"/{stage}" if stage and path.startswith(f"/{stage}/") else ""
    return f"{scheme}://{host}{prefix}"


def check_accept(request: Request) -> None:
    """406 unless the client accepts the Upload 2.0 media type (a missing Accept does)."""
    accept = request.headers.get("accept")
    if not accept or not accept.strip():
        return
    for part in accept.split(","):
        media, *params = (p.strip().lower() for p in part.split(";"))
        q = 1.0
        for param in params:
            if param.startswith("q="):
                try:
                    q = float(param[2:])
                except ValueError:
                    q = 0.0
        if q > 0 and media in (UPLOAD_MEDIA_TYPE, "application/*", "*/*"):
            return
    raise NotAcceptableError(f"This API answers only in {UPLOAD_MEDIA_TYPE}.")


def upload_json(request: Request) -> dict[str, Any]:
    """The body of an Upload 2.0 JSON request, with its media type and api-version checked."""
    body = json_object(request, media_type=UPLOAD_MEDIA_TYPE)
    meta = body.get("meta")
    version = meta.get("api-version") if isinstance(meta, dict) else None
    if version != API_VERSION:
        raise InvalidRequestError(
            f"meta.api-version must be the string {API_VERSION!r} (the major version of "
            f"{UPLOAD_MEDIA_TYPE}); got {json.dumps(version)[:40]}.",
            errors=[{"source": "meta.api-version", "message": f"must be {API_VERSION!r}"}],
        )
    return body


def upload_response(
    body: dict[str, Any] | None, status: int, headers: dict[str, str] | None = None
) -> Response:
    all_headers: dict[str, str | list[str]] = {"Cache-Control": "no-store", **(headers or {})}
    if body is None:
        return Response(body="", status_code=status, headers=all_headers)
    all_headers["Content-Type"] = UPLOAD_MEDIA_TYPE
    return Response(
        body=json.dumps({"meta": META, **body}), status_code=status, headers=all_headers
    )


# --- bodies --------------------------------------------------------------------------


def session_url(base: str, token: str) -> str:
    return f"{base}/upload/{token}"


def file_url(base: str, token: str, file_id: str) -> str:
    return f"{session_url(base, token)}/files/{file_id}"


def stage_url(base: str, token: str) -> str:
    """Documented format (docs/upload.md): ``<base>/stage/<session-token>/``."""
    return f"{base}/stage/{token}/"


def session_body(view: SessionView, base: str) -> dict[str, Any]:
    from ..services import mechanisms  # imported by the upload routes, not every cold start

    session = view.session
    root = session_url(base, session.token)
    files = {
        entry.record.filename: {
            "status": FILES.shown(entry.status),
            "link": file_url(base, session.token, entry.record.file_id),
            "notices": list(entry.record.notices),
        }
        for entry in view.files
        if entry.status is not FileStatus.CANCELED
    }
    return {
        "links": {
            "stage": stage_url(base, session.token),
            "upload": f"{root}/files",
            "session": root,
            "publish": f"{root}/publish",
            "extend": f"{root}/extend",
        },
        "mechanisms": list(mechanisms.IDENTIFIERS),
        "session-token": session.token,
        "expires-at": rfc3339_seconds(session.expires_at),
        "status": SESSIONS.shown(view.status),
        "files": files,
        "notices": list(session.notices),
    }


def session_list_body(
    views: list[SessionView], base: str, caller_token_id: str, *, truncated: bool
) -> dict[str, Any]:
    """``GET /upload/`` (a wharf extension): a summary of each live session."""
    return {
        "sessions": [
            {
                "name": view.session.project,
                "version": view.session.version,
                "status": SESSIONS.shown(view.status),
                "session-token": view.session.token,
                "created-at": rfc3339_seconds(view.session.created_at),
                "expires-at": rfc3339_seconds(view.session.expires_at),
                "created-via": str(view.session.created_via),
                "file-count": sum(1 for e in view.files if e.status is not FileStatus.CANCELED),
                "created-by-this-token": view.session.created_by == caller_token_id,
                "links": {"session": session_url(base, view.session.token)},
            }
            for view in views
        ],
        "truncated": truncated,
    }


def file_body(view: FileView, base: str) -> dict[str, Any]:
    from ..services import mechanisms  # as in session_body

    record = view.file
    root = file_url(base, record.session_token, record.file_id)
    mechanism = mechanisms.mechanism_for(record.mechanism).describe(record, root)
    # PEP 694: attestations go to this URL before the file is completed (any mechanism).
    mechanism["attestations_url"] = f"{root}/attestations"
    return {
        "links": {
            "file-upload-session": root,
            "complete": f"{root}/complete",
            "extend": f"{root}/extend",
        },
        "status": FILES.shown(view.status),
        "expires-at": rfc3339_seconds(view.session.expires_at),
        "mechanism": mechanism,
        "filename": record.filename,
        "size": record.size,
        "hashes": dict(record.hashes),
        "notices": list(record.notices),
    }
