"""Where the client finds its server and token: flags, environment, ~/.pypirc, keyring."""

from __future__ import annotations

import configparser
import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_URL = "http://127.0.0.1:8000"


class CredentialsError(Exception):
    pass


@dataclass(frozen=True)
class Target:
    url: str  # the server's base URL (Upload 2.0 at <url>/upload/, legacy at <url>/legacy/)
    username: str
    password: str
    repository_url: str | None = None  # an explicit upload URL from ~/.pypirc


def _pypirc(repository: str) -> dict[str, str]:
    """A section of ~/.pypirc, read the way twine reads it."""
    path = Path(os.environ.get("PYPIRC", Path.home() / ".pypirc"))
    if not path.exists():
        return {}
    parser = configparser.RawConfigParser()
    parser.read(path)
    if not parser.has_section(repository):
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


def resolve(url: str | None, token: str | None, repository: str | None) -> Target:
    """Flags win, then WHARF_URL/WHARF_TOKEN, then the ~/.pypirc section, then keyring."""
    section = _pypirc(repository or "wharf")
    repository_url = section.get("repository")
    base = url or os.environ.get("WHARF_URL") or repository_url or DEFAULT_URL
    base = base.rstrip("/")
    for suffix in ("/upload", "/legacy"):
        base = base.removesuffix(suffix)
    username = section.get("username", "__token__")
    password = token or os.environ.get("WHARF_TOKEN") or section.get("password")
    if not password:
        password = _keyring(repository_url or base, username)
    if not password:
        raise CredentialsError(
            "no token: set WHARF_TOKEN, pass --token, or add it to ~/.pypirc or your keyring"
        )
    return Target(url=base, username=username, password=password, repository_url=repository_url)
