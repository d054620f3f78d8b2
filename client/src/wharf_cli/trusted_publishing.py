"""Trusted publishing from CI: trade the CI's OIDC token for a short-lived wharf token.

The exchange is PyPI's, found at the root of the server's host (as uv, pdm and
pypa/gh-action-pypi-publish find it): ``GET /_/oidc/audience``, then ``POST
/_/oidc/mint-token`` with ``{"token": <OIDC token>}``. The OIDC token comes from the `id`
library (what twine, pdm and gh-action-pypi-publish use: GitHub Actions' token endpoint,
GitLab's ``<AUDIENCE>_ID_TOKEN`` variable, and other CI systems), or from ``WHARF_ID_TOKEN``
when a job names its ID token so.
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests

from . import transport
from .client import ClientError, json_object

TIMEOUT = 30
ID_TOKEN_VARIABLE = "WHARF_ID_TOKEN"


def in_ci() -> bool:
    """Whether this looks like a CI job that can prove its identity."""
    return bool(
        os.environ.get(ID_TOKEN_VARIABLE)
        or os.environ.get("GITHUB_ACTIONS")
        or os.environ.get("GITLAB_CI")
    )


def _host_root(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "", "", ""))


def _oidc_token(audience: str) -> str:
    explicit = os.environ.get(ID_TOKEN_VARIABLE)
    if explicit:
        return explicit.strip()
    import id as ambient_id  # only on this path: uploads with a token never need it

    try:
        token = ambient_id.detect_credential(audience)
    except ambient_id.IdentityError as error:
        raise ClientError(f"trusted publishing: {error}") from None
    if not token:
        raise ClientError(
            "trusted publishing: no OIDC token in this CI job. GitHub Actions: give the job "
            "`permissions: id-token: write`. GitLab CI: declare `id_tokens:` with "
            f"`aud: {audience}` as {ID_TOKEN_VARIABLE} (docs/trusted-publishing.md)."
        )
    return str(token)


def mint_token(server_url: str) -> str:
    """A wharf upload token for this CI job, from the server's trusted publishing exchange."""
    root = _host_root(server_url)
    http = transport.session(None, every_method=False)
    try:
        answer = http.get(root + "/_/oidc/audience", timeout=TIMEOUT)
        if answer.status_code != 200:
            raise ClientError(
                f"trusted publishing: {root} does not offer it (HTTP {answer.status_code} from "
                "/_/oidc/audience); give a token in WHARF_TOKEN instead",
                status=answer.status_code,
            )
        audience = json_object(answer).get("audience")
        if not isinstance(audience, str):
            raise ClientError(f"trusted publishing: {root} named no audience")
        # A retried POST could only be refused as a replay: the OIDC token is single-use.
        minted = http.post(
            root + "/_/oidc/mint-token", json={"token": _oidc_token(audience)}, timeout=TIMEOUT
        )
    except requests.RequestException as error:
        raise ClientError(
            f"trusted publishing: cannot reach {root}: {type(error).__name__}"
        ) from None
    body = json_object(minted)
    if minted.status_code != 200 or not isinstance(body.get("token"), str):
        found = body.get("errors")
        errors: list[Any] = found if isinstance(found, list) else []
        reasons = "; ".join(
            f"{e.get('code')}: {e.get('description')}" for e in errors if isinstance(e, dict)
        )
        raise ClientError(
            f"trusted publishing: {root} refused this job's token (HTTP {minted.status_code}"
            f"{': ' + reasons if reasons else ''}). Check that a trusted publisher matches this "
            "repository, workflow and environment (`wharf publisher list`).",
            status=minted.status_code,
            errors=errors,
        )
    return str(body["token"])
