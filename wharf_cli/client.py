"""HTTP calls to a wharf server, with failures turned into one-line ``ClientError``s."""

from __future__ import annotations

from typing import Any

import requests

DEFAULT_TIMEOUT = 30


class ClientError(Exception):
    """A failure to show the user as one line."""


def _reason(response: requests.Response) -> str:
    """The server's own words for a failure: a problem document's title and detail."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and ("title" in body or "detail" in body):
        title = body.get("title") or response.reason
        detail = body.get("detail") or body.get("details")
        text = f"{title}: {detail}" if detail else str(title)
    else:
        text = (response.text or response.reason or "").strip().splitlines()[0:1]
        text = text[0] if text else ""
    return f"HTTP {response.status_code}: {text}" if text else f"HTTP {response.status_code}"


class WharfClient:
    def __init__(self, url: str, token: str, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        self._base = url.rstrip("/")
        self._session = requests.Session()
        self._session.auth = ("__token__", token)
        self._session.headers["User-Agent"] = "wharf-cli/0.1"
        self._timeout = timeout

    def _call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        url = self._base + path
        try:
            response = self._session.request(method, url, timeout=self._timeout, **kwargs)
        except requests.RequestException as error:
            raise ClientError(f"cannot reach {self._base}: {type(error).__name__}") from None
        if response.status_code >= 400:
            raise ClientError(_reason(response))
        return response

    def create_token(
        self,
        *,
        role: str,
        projects: list[str],
        expires_days: int | None,
        description: str,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"role": role, "projects": projects, "description": description}
        if expires_days is not None:
            body["expires_days"] = expires_days
        return self._call("POST", "/admin/tokens", json=body).json()

    def list_tokens(self) -> list[dict[str, Any]]:
        return self._call("GET", "/admin/tokens").json()["tokens"]

    def revoke_token(self, token_id: str) -> None:
        self._call("DELETE", f"/admin/tokens/{requests.utils.quote(token_id, safe='')}")

    def yank(
        self, project: str, target: str, reason: str | None, *, yanked: bool
    ) -> dict[str, Any]:
        body = {"target": target, "reason": reason, "yanked": yanked}
        path = f"/admin/projects/{requests.utils.quote(project, safe='')}/yank"
        return self._call("POST", path, json=body).json()

    def project_status(self, project: str, status: str, reason: str | None) -> dict[str, Any]:
        path = f"/admin/projects/{requests.utils.quote(project, safe='')}/status"
        return self._call("PUT", path, json={"status": status, "reason": reason}).json()
