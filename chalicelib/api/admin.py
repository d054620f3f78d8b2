"""The admin API behind `wharf token create|list|revoke`."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from chalice import Blueprint, Response
from packaging.utils import canonicalize_name

from ..domain.audit import AuditEvent, AuditKind, AuditQuery
from ..domain.clock import rfc3339_seconds
from ..domain.errors import InvalidRequestError, PermissionDeniedError
from ..domain.tokens import Principal, TokenRecord, TokenRequest
from ..wiring import container
from .auth import principal_of
from .http import ALL_METHODS, ANY_CONTENT, json_object, method_of
from .problems import problem_responses
from .schemas import ProjectSettings, SetProjectStatus, Yank, parse_body

bp = Blueprint(__name__)


def _require_admin(what: str) -> Principal:
    principal = principal_of(bp.current_request)
    if not principal.is_admin:
        raise PermissionDeniedError(f"Only an admin token may {what}; this token is not one.")
    return principal


def _time(value: datetime | None) -> str | None:
    return rfc3339_seconds(value) if value is not None else None


def token_json(record: TokenRecord, status: str) -> dict[str, Any]:
    """A token as the admin API shows it: everything but the secret and its hash."""
    return {
        "id": record.id,
        "role": str(record.role),
        "projects": list(record.projects),
        "permissions": list(record.principal().permissions),
        "description": record.description,
        "status": status,
        "created_at": _time(record.created_at),
        "expires_at": _time(record.expires_at),
        "last_used_at": _time(record.last_used_at),
        "revoked_at": _time(record.revoked_at),
    }


def _json(body: Any, status: int = 200) -> Response:
    return Response(
        body=json.dumps(body),
        status_code=status,
        headers={"Content-Type": "application/json", "Cache-Control": "no-store"},
    )


@bp.route("/admin/tokens", methods=ALL_METHODS, content_types=ANY_CONTENT)
@problem_responses
def tokens() -> Response:
    method = method_of(bp.current_request, "GET", "POST")
    admin = _require_admin("manage tokens")
    if method == "GET":
        return _json(
            {"tokens": [token_json(t.record, t.status) for t in container().tokens.list()]}
        )
    request = parse_body(TokenRequest, json_object(bp.current_request), what="token request")
    issued = container().tokens.issue(request, by=admin)
    return _json({**token_json(issued.record, issued.status), "token": issued.secret}, status=201)


@bp.route("/admin/tokens/{token_id}", methods=ALL_METHODS, content_types=ANY_CONTENT)
@problem_responses
def revoke_token(token_id: str) -> Response:
    method_of(bp.current_request, "DELETE")
    admin = _require_admin("manage tokens")
    container().tokens.revoke(token_id, by=admin)
    return Response(body="", status_code=204)


@bp.route("/admin/projects/{project}/yank", methods=ALL_METHODS, content_types=ANY_CONTENT)
@problem_responses
def yank(project: str) -> Response:
    """``{"target": FILE_OR_VERSION, "reason": TEXT?, "yanked": true|false}`` (PEP 592)."""
    method_of(bp.current_request, "POST")
    admin = _require_admin("yank or unyank releases")
    body = parse_body(Yank, json_object(bp.current_request), what="yank request")
    name = canonicalize_name(project)
    files = container().moderation.yank(
        name, body.target, body.reason, yanked=body.yanked, by=admin
    )
    return _json({"project": name, "files": files, "yanked": body.yanked})


@bp.route("/admin/projects/{project}/status", methods=ALL_METHODS, content_types=ANY_CONTENT)
@problem_responses
def project_status(project: str) -> Response:
    """``{"status": active|archived|deprecated|quarantined, "reason": TEXT?}`` (PEP 792)."""
    method_of(bp.current_request, "PUT")
    admin = _require_admin("change a project's status")
    body = parse_body(SetProjectStatus, json_object(bp.current_request), what="status request")
    name = canonicalize_name(project)
    container().moderation.set_status(name, body.status, body.reason, by=admin)
    return _json({"project": name, "status": str(body.status)})


@bp.route("/admin/projects/{project}/settings", methods=ALL_METHODS, content_types=ANY_CONTENT)
@problem_responses
def project_settings(project: str) -> Response:
    """``{"uploaders_cancel_own": true|false}``: upload-only tokens may cancel the sessions
    they opened (issue 15)."""
    method_of(bp.current_request, "PUT")
    admin = _require_admin("change a project's settings")
    body = parse_body(ProjectSettings, json_object(bp.current_request), what="settings request")
    name = canonicalize_name(project)
    container().moderation.set_uploaders_cancel_own(name, body.uploaders_cancel_own, by=admin)
    return _json({"project": name, "uploaders_cancel_own": body.uploaders_cancel_own})


def audit_json(event: AuditEvent) -> dict[str, Any]:
    """An audit event as the admin API shows it."""
    body: dict[str, Any] = {
        "id": event.event_id,
        "kind": str(event.kind),
        "at": _time(event.at),
        "actor": event.actor,
        "project": event.project,
        "version": event.version,
        "subject": event.subject,
        "reason": event.reason,
        "details": event.details,
    }
    if event.publisher is not None:
        body["publisher"] = event.publisher.model_dump(mode="json")
    if event.kind is AuditKind.AUTH_FAILED:
        body["count"] = event.count
    return body


@bp.route("/admin/audit", methods=ALL_METHODS, content_types=ANY_CONTENT)
@problem_responses
def audit() -> Response:
    """The audit trail, newest first (``order=oldest`` for oldest first), a page at a time:
    ``project``, ``actor``, ``since`` (RFC 3339), ``limit`` (1-200), ``cursor`` (the previous
    page's ``next``)."""
    method_of(bp.current_request, "GET")
    _require_admin("read the audit trail")
    params = dict(bp.current_request.query_params or {})
    cursor = params.pop("cursor", None)
    order = params.pop("order", "newest")
    if order not in ("newest", "oldest"):
        raise InvalidRequestError(
            "order must be 'newest' or 'oldest'.", errors=[{"source": "order", "message": order}]
        )
    if params.get("project"):
        params["project"] = canonicalize_name(params["project"])
    query = parse_body(AuditQuery, {**params, "newest_first": order == "newest"}, what="query")
    page = container().audit.page(query, cursor)
    return _json(
        {
            "order": "newest-first" if query.newest_first else "oldest-first",
            "events": [audit_json(e) for e in page.events],
            "next": page.cursor,
        }
    )
