"""The people's pages: what a release page shows, browser sign-in sessions, download counts.

A release's page facts (summary, dependencies, URLs, who published it) are extracted and its
long description rendered once, when the release is published (services/pages.py); the
pages then read them back with one query per project. Nothing here touches the simple index.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from datetime import date, datetime
from typing import Protocol

from packaging.version import InvalidVersion, Version
from pydantic import ConfigDict

from .identity import PublisherIdentity
from .model import WharfModel

# Browser sessions: 256 random bits, kept in a cookie and stored only as a hash.
BROWSER_SESSION_BYTES = 32
DOWNLOAD_DAYS = 30


class PublishedBy(WharfModel):
    """Who published a release: the token (id and description), and the CI identity when
    the token was minted by trusted publishing."""

    model_config = ConfigDict(frozen=True)

    token_id: str
    description: str = ""
    publisher: PublisherIdentity | None = None


class ReleaseDoc(WharfModel):
    """One release's page facts, taken from its core metadata when it was published."""

    model_config = ConfigDict(frozen=True)

    project: str
    version: str
    published_at: datetime
    summary: str = ""
    requires_python: str | None = None
    requires_dist: tuple[str, ...] = ()
    project_urls: tuple[tuple[str, str], ...] = ()  # (label, URL), http(s) only
    published_by: PublishedBy | None = None
    description_key: str | None = None  # the rendered, sanitised HTML in the bucket


class BrowserSession(WharfModel):
    """A signed-in browser: the token it signed in with (by hash, so a revocation ends the
    session on its next request), its CSRF token, and when it ends."""

    model_config = ConfigDict(frozen=True)

    id_hash: str
    token_hash: str
    csrf: str
    created_at: datetime
    expires_at: datetime


def new_browser_session_id() -> str:
    return secrets.token_urlsafe(BROWSER_SESSION_BYTES)


def new_csrf_token() -> str:
    return secrets.token_urlsafe(BROWSER_SESSION_BYTES)


def hash_session_id(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("utf-8")).hexdigest()


class PageStore(Protocol):
    """Release page facts, download counters and browser sessions."""

    def put_release(self, doc: ReleaseDoc) -> None:
        """Store a release's page facts, replacing any stored for the same version."""

    def releases(self, project: str) -> list[ReleaseDoc]:
        """Every stored release of a project (any order)."""

    def set_summary(self, project: str, summary: str, *, at: datetime) -> None:
        """Record the summary of the project's release published at ``at``, unless one
        published later is recorded (conditional: the latest publish wins any race)."""

    def summaries(self) -> dict[str, str]:
        """Every project's latest summary (one query)."""

    def count_download(self, project: str, version: str, day: date, *, expire_at: datetime) -> None:
        """Add one to the version's counter for ``day`` (atomic; the counter ends at
        ``expire_at``)."""

    def downloads(self, project: str, since: date) -> dict[str, int]:
        """Downloads per version on ``since`` and after."""

    def add_browser_session(self, record: BrowserSession) -> None:
        """Store a new browser session; ``ConflictError`` if its id hash is taken."""

    def browser_session(self, id_hash: str) -> BrowserSession | None:
        """The browser session with this id hash (consistent read), expired or not."""

    def end_browser_session(self, id_hash: str) -> None:
        """Delete a browser session; no error if it is gone."""


def latest_first(versions: Iterable[str]) -> list[str]:
    """Versions newest first by PEP 440 (unparsable ones last, as text)."""

    def key(v: str) -> tuple[int, Version | str]:
        try:
            return (1, Version(v))
        except InvalidVersion:
            return (0, v)

    return sorted(versions, key=key, reverse=True)
