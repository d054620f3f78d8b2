"""HTTP calls to a wharf server, with failures turned into one-line ``ClientError``s."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import requests

from . import transport

DEFAULT_TIMEOUT = 30
AUDIT_PAGE = 200
ADMIN_PROBLEM = "urn:wharf:problem:permission-denied"


class ClientError(Exception):
    """A failure to show the user: one line, and what the server said in machine form.

    ``status`` and ``problem_type`` come from the HTTP answer (an RFC 9457 problem
    document's ``type``) when there was one; ``errors`` is its list of problems.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        problem_type: str | None = None,
        errors: list[Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.problem_type = problem_type
        self.errors = errors or []

    def as_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {"event": "error", "message": self.message}
        if self.status is not None:
            document["status"] = self.status
        if self.problem_type:
            document["type"] = self.problem_type
        if self.errors:
            document["errors"] = self.errors
        return document


def _problem(response: requests.Response) -> dict[str, Any] | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def json_object(response: requests.Response) -> dict[str, Any]:
    """A successful answer's JSON object; anything else is a ``ClientError`` (a proxy's HTML
    page, a truncated body), never a traceback."""
    body = _problem(response)
    if body is None:
        raise ClientError(
            f"HTTP {response.status_code} from {response.url}: the answer is not a JSON object",
            status=response.status_code,
        )
    return body


def error_from(response: requests.Response, context: str = "") -> ClientError:
    """The server's own words for a failure: a problem document's title and detail, or the
    first line of any other body."""
    body = _problem(response)
    if body is not None and ("title" in body or "detail" in body):
        title = body.get("title") or response.reason
        detail = body.get("detail") or body.get("details")
        text = f"{title}: {detail}" if detail else str(title)
    else:
        lines = (response.text or response.reason or "").strip().splitlines()[:1]
        text = lines[0][:200] if lines else ""
    message = f"HTTP {response.status_code}: {text}" if text else f"HTTP {response.status_code}"
    errors = body.get("errors") if body is not None else None
    return ClientError(
        f"{context}: {message}" if context else message,
        status=response.status_code,
        problem_type=body.get("type") if body is not None else None,
        errors=errors if isinstance(errors, list) else None,
    )


class WharfClient:
    """The admin API (tokens, yank, project status): every call needs an admin token.

    Reads, PUTs and DELETEs are retried on network errors and 5xx; a POST is not (a second
    ``create_token`` would make a second token).
    """

    def __init__(
        self, url: str, auth: tuple[str, str], command: str, *, timeout: float = DEFAULT_TIMEOUT
    ) -> None:
        self._base = url.rstrip("/")
        self._session = transport.session(auth, every_method=False)
        self._command = command
        self._timeout = timeout

    def _call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        url = self._base + path
        try:
            response = self._session.request(method, url, timeout=self._timeout, **kwargs)
        except requests.RequestException as error:
            raise ClientError(f"cannot reach {self._base}: {type(error).__name__}") from None
        if response.status_code == 403:
            # The server's detail names its own check; what the user needs is which token.
            raise ClientError(
                f"`wharf {self._command}` needs an admin token; this token is not one "
                "(HTTP 403). Use a token created with `wharf token create --role admin`.",
                status=403,
                problem_type=(_problem(response) or {}).get("type", ADMIN_PROBLEM),
            )
        if response.status_code >= 400:
            raise error_from(response)
        return response

    def create_token(
        self,
        *,
        role: str,
        projects: list[str],
        expires_days: int | None,
        description: str,
        publish: bool = True,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"role": role, "projects": projects, "description": description}
        if not publish:
            body["publish"] = False
        if expires_days is not None:
            body["expires_days"] = expires_days
        return json_object(self._call("POST", "/admin/tokens", json=body))

    def list_tokens(self) -> list[dict[str, Any]]:
        tokens: list[dict[str, Any]] = json_object(self._call("GET", "/admin/tokens"))["tokens"]
        return tokens

    def revoke_token(self, token_id: str) -> None:
        self._call("DELETE", f"/admin/tokens/{quote(token_id, safe='')}")

    def yank(
        self, project: str, target: str, reason: str | None, *, yanked: bool
    ) -> dict[str, Any]:
        body = {"target": target, "reason": reason, "yanked": yanked}
        path = f"/admin/projects/{quote(project, safe='')}/yank"
        return json_object(self._call("POST", path, json=body))

    def project_status(self, project: str, status: str, reason: str | None) -> dict[str, Any]:
        path = f"/admin/projects/{quote(project, safe='')}/status"
        return json_object(self._call("PUT", path, json={"status": status, "reason": reason}))

    def audit(
        self,
        *,
        project: str | None,
        actor: str | None,
        since: str | None,
        oldest_first: bool,
        limit: int,
    ) -> Iterator[dict[str, Any]]:
        """Events of the audit trail, page by page, at most ``limit`` of them."""
        params: dict[str, str] = {"order": "oldest" if oldest_first else "newest"}
        params.update(
            {k: v for k, v in (("project", project), ("actor", actor), ("since", since)) if v}
        )
        left = limit
        while left > 0:
            params["limit"] = str(min(left, AUDIT_PAGE))
            page = json_object(self._call("GET", "/admin/audit", params=params))
            events = page.get("events", [])
            yield from events[:left]
            left -= len(events)
            if not page.get("next"):
                return
            params["cursor"] = page["next"]

    def project_settings(self, project: str, *, uploaders_cancel_own: bool) -> dict[str, Any]:
        path = f"/admin/projects/{quote(project, safe='')}/settings"
        return json_object(
            self._call("PUT", path, json={"uploaders_cancel_own": uploaders_cancel_own})
        )

    def add_publisher(self, body: dict[str, Any]) -> dict[str, Any]:
        return json_object(self._call("POST", "/admin/publishers", json=body))

    def list_publishers(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = json_object(self._call("GET", "/admin/publishers"))[
            "publishers"
        ]
        return found

    def remove_publisher(self, publisher_id: str) -> None:
        self._call("DELETE", f"/admin/publishers/{quote(publisher_id, safe='')}")
