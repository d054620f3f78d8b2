"""Where the client finds its server and token: flags, environment, ~/.pypirc, keyring."""

from __future__ import annotations

import configparser
import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

# Paths of a wharf server that users paste by mistake instead of its root.
_ENDPOINTS = {
    "simple": "the package index (/simple/)",
    "legacy": "the legacy upload API (/legacy/)",
    "upload": "the Upload 2.0 API (/upload/)",
    "stage": "a stage preview (/stage/)",
}
NO_SERVER = (
    "no server URL: set WHARF_URL or pass --url with the server's root (for example "
    "https://pkgs.example.com), or add `repository = <root>/legacy/` to the [wharf] "
    "section of ~/.pypirc"
)


class CredentialsError(Exception):
    pass


class MissingToken(CredentialsError):
    """A server but no token: in CI, trusted publishing may supply one."""

    def __init__(self, message: str, target: Target) -> None:
        super().__init__(message)
        self.target = target


@dataclass(frozen=True)
class Target:
    url: str  # the server's root (Upload 2.0 at <url>/upload/, legacy at <url>/legacy/)
    username: str
    password: str
    repository_url: str | None = None  # an explicit legacy upload URL (twine's convention)


def _pypirc(repository: str, *, required: bool) -> dict[str, str]:
    """A section of ~/.pypirc, read the way twine reads it."""
    path = Path(os.environ.get("PYPIRC", Path.home() / ".pypirc"))
    parser = configparser.RawConfigParser()
    if path.exists():
        parser.read(path)
    if not parser.has_section(repository):
        if required:
            raise CredentialsError(f"no [{repository}] section in {path}")
        return {}
    return {key: parser.get(repository, key) for key in parser.options(repository)}


def _keyring(url: str, username: str) -> str | None:
    try:
        import keyring  # optional, as in twine
    except ImportError:
        return None
    try:
        return keyring.get_password(url, username)
    except Exception:  # a keyring backend that fails must not stop the upload
        return None


def server_root(url: str, source: str, *, legacy_ok: bool = False) -> str:
    """The server's root from a URL the user gave (``source`` names where it came from).

    A URL that points at one of the server's endpoints is refused with the root to use
    instead, except a legacy upload URL where ``legacy_ok`` (twine's ~/.pypirc convention).
    """
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise CredentialsError(f"{source} must be an http(s) URL, got {url!r}")
    if parts.username or parts.password:
        # Error messages and logs show the URL; a token belongs in WHARF_TOKEN.
        raise CredentialsError(
            f"{source} must not contain credentials; put the token in WHARF_TOKEN"
        )
    segments = [s for s in parts.path.split("/") if s]
    for index, segment in enumerate(segments):
        if segment in _ENDPOINTS:
            root = urlunsplit((parts.scheme, parts.netloc, "/".join(segments[:index]), "", ""))
            if segment == "legacy" and legacy_ok and index == len(segments) - 1:
                return root.rstrip("/")
            raise CredentialsError(
                f"{source} ({url}) points at {_ENDPOINTS[segment]}, not at the server's root; "
                f"use {root.rstrip('/')}"
            )
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", "")).rstrip("/")


def resolve(
    url: str | None,
    token: str | None,
    repository: str | None,
    *,
    repository_url: str | None = None,
    username: str | None = None,
) -> Target:
    """Flags win, then WHARF_URL/WHARF_TOKEN, then the ~/.pypirc section, then keyring.

    There is no default server: without one, ``CredentialsError`` says how to give it.
    """
    section = _pypirc(repository or "wharf", required=repository is not None)
    upload_url = None
    if url:
        base = server_root(url, "--url")
    elif repository_url:
        base = server_root(repository_url, "--repository-url", legacy_ok=True)
        upload_url = repository_url
    elif os.environ.get("WHARF_URL"):
        base = server_root(os.environ["WHARF_URL"], "WHARF_URL")
    elif section.get("repository"):
        base = server_root(section["repository"], "~/.pypirc repository", legacy_ok=True)
        upload_url = section["repository"]
    else:
        raise CredentialsError(NO_SERVER)
    user = username or section.get("username", "__token__")
    password = token or os.environ.get("WHARF_TOKEN") or section.get("password")
    if not password:
        password = _keyring(upload_url or base, user)
    if not password:
        raise MissingToken(
            "no token: set WHARF_TOKEN, pass --token, or add it to ~/.pypirc or your keyring "
            "(in GitHub Actions or GitLab CI, register a trusted publisher instead)",
            Target(url=base, username=user, password="", repository_url=upload_url),
        )
    return Target(url=base, username=user, password=password, repository_url=upload_url)
