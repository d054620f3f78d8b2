"""The people's pages: browsing what is published, signing a browser in, and the admin views.

Release facts are extracted (and the long description rendered) once, when a release is
published (``release_published``, called by the publisher); a page view is then one catalog
query, one page-store query, one counter query and one object read, whatever the release
count. Nothing here writes to the simple index.
"""

from __future__ import annotations

import hashlib
import hmac
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from packaging.utils import canonicalize_version
from packaging.version import InvalidVersion, Version

from ..domain.catalog import ProjectRecord, ProjectStatus
from ..domain.errors import AuthenticationError, NotFoundError, PermissionDeniedError
from ..domain.filenames import FilenameError, parse_filename
from ..domain.lifecycle import FileStatus
from ..domain.pages import (
    DOWNLOAD_DAYS,
    BrowserSession,
    PageStore,
    PublishedBy,
    ReleaseDoc,
    hash_session_id,
    latest_first,
    new_browser_session_id,
    new_csrf_token,
)
from ..domain.tokens import Principal, hash_secret
from ..observability import logger
from .readme import render_description

if TYPE_CHECKING:
    from ..domain.identity import PublisherIdentity
    from ..domain.index import FileEntry
    from ..domain.ports import (
        Catalog,
        Clock,
        ObjectStore,
        SessionRepository,
        StagingStorage,
        TokenStore,
    )
    from ..domain.sessions import FileRecord, SessionRecord

PAGES_PREFIX = "pages/"
MAX_SESSIONS_SHOWN = 100


def description_key(project: str, version: str) -> str:
    return f"{PAGES_PREFIX}{project}/{canonicalize_version(version)}/description.html"


# --- what the templates show ---------------------------------------------------------------


@dataclass(frozen=True)
class ProjectRow:
    name: str
    summary: str


@dataclass(frozen=True)
class ReleaseView:
    version: str
    files: list[FileEntry]
    uploaded: str  # the earliest file's upload time
    yanked: bool
    yanked_reason: str
    prerelease: bool
    doc: ReleaseDoc | None
    downloads: int


@dataclass(frozen=True)
class ProjectView:
    name: str
    record: ProjectRecord
    releases: list[ReleaseView]
    shown: ReleaseView  # the latest release, or the one asked for
    latest_version: str
    description_html: str
    downloads_total: int

    @property
    def status(self) -> str:
        return str(self.record.status)


@dataclass(frozen=True)
class FileProgress:
    filename: str
    status: str
    size: int
    received_parts: int
    received_bytes: int
    total_parts: int | None
    notices: tuple[str, ...]

    @property
    def percent(self) -> int:
        return min(100, self.received_bytes * 100 // self.size) if self.size else 100


@dataclass(frozen=True)
class SessionProgress:
    key: str  # a hash of the session token: the token itself is a credential
    project: str
    version: str
    status: str
    created_by: str
    created_at: datetime
    expires_at: datetime
    files: list[FileProgress] = field(default_factory=list)


@dataclass(frozen=True)
class SignedIn:
    """A browser's session and the principal of the token it signed in with."""

    session: BrowserSession
    principal: Principal


@dataclass(frozen=True)
class PagesPolicy:
    browser_session_lifetime: timedelta


def _version(text: str) -> Version | None:
    try:
        return Version(text)
    except InvalidVersion:
        return None


class Pages:
    def __init__(
        self,
        store: PageStore,
        catalog: Catalog,
        objects: ObjectStore,
        tokens: TokenStore,
        sessions: SessionRepository,
        staging: StagingStorage,
        clock: Clock,
        policy: PagesPolicy,
    ) -> None:
        self._store = store
        self._catalog = catalog
        self._objects = objects
        self._tokens = tokens
        self._sessions = sessions
        self._staging = staging
        self._clock = clock
        self._policy = policy

    # --- the render step of publishing ------------------------------------------------------

    def release_published(
        self,
        project: str,
        version: str,
        token_id: str,
        metadata: bytes | None,
        publisher: PublisherIdentity | None = None,
    ) -> ReleaseDoc:
        """Extract a release's page facts from its core metadata, render its long description
        (sanitised) to the bucket, and store the facts. Idempotent: a redelivery rewrites the
        same values."""
        # Imported here: packaging.metadata (email.policy) is ~35 ms of an API cold start.
        from packaging.metadata import parse_email

        raw, _ = parse_email(metadata or b"")
        summary = str(raw.get("summary") or "").strip()
        key = None
        description = str(raw.get("description") or "")
        html = render_description(description, raw.get("description_content_type"))
        if html:
            key = description_key(project, version)
            self._objects.put(
                key, html.encode("utf-8"), content_type="text/html; charset=utf-8", metadata={}
            )
        urls = [(label, url) for label, url in (raw.get("project_urls") or {}).items()]
        if raw.get("home_page"):
            urls.insert(0, ("Homepage", str(raw["home_page"])))
        token = self._tokens.get_by_id(token_id)
        doc = ReleaseDoc(
            project=project,
            version=version,
            published_at=self._clock(),
            summary=summary[:512],
            requires_python=raw.get("requires_python"),
            requires_dist=tuple(str(r) for r in raw.get("requires_dist") or ())[:500],
            project_urls=tuple((label[:64], url) for label, url in urls if _safe_url(url))[:50],
            published_by=PublishedBy(
                token_id=token_id,
                description=token.description if token else "",
                publisher=publisher,
            ),
            description_key=key,
        )
        self._store.put_release(doc)
        self._store.set_summary(project, doc.summary, at=doc.published_at)
        return doc

    def release_published_safely(
        self,
        project: str,
        version: str,
        token_id: str,
        metadata: bytes | None,
        publisher: PublisherIdentity | None = None,
    ) -> None:
        """The render step as the publisher runs it: a failure is logged, never a failed
        publish (the release page then shows the release without its description)."""
        try:
            self.release_published(project, version, token_id, metadata, publisher)
        except Exception:
            logger.exception("release page render failed", extra={"project": project})

    # --- downloads --------------------------------------------------------------------------

    def count_download(self, project: str, filename: str) -> None:
        """One download of a file, counted per version and day (kept for the window only).
        Best effort: a failed count never fails the download."""
        try:
            version = canonicalize_version(parse_filename(filename).version)
        except FilenameError:
            return
        now = self._clock()
        try:
            self._store.count_download(
                project, version, now.date(), expire_at=now + timedelta(days=DOWNLOAD_DAYS + 1)
            )
        except Exception:
            logger.exception("download count failed", extra={"project": project})

    # --- reading ----------------------------------------------------------------------------

    def project_rows(self, principal: Principal, query: str = "") -> list[ProjectRow]:
        """The projects the caller may read, with their latest summary, filtered by ``query``
        (a case-insensitive substring of the name or the summary)."""
        needle = query.strip().lower()
        rows = []
        # One item per project carries its latest summary: not a query per project.
        summaries = self._store.summaries()
        for name in sorted(self._catalog.listed_projects()):
            if not principal.can_read(name):
                continue
            summary = summaries.get(name, "")
            if needle and needle not in name.lower() and needle not in summary.lower():
                continue
            rows.append(ProjectRow(name=name, summary=summary))
        return rows

    def project(self, principal: Principal, name: str, version: str | None = None) -> ProjectView:
        """A project's page; ``NotFoundError`` for one the caller may not read (as /simple/)."""
        record = self._catalog.project(name)
        if record is None or not record.published or not principal.can_read(name):
            raise NotFoundError(f"No project named {name!r} on this index.")
        by_version: dict[str, list[FileEntry]] = defaultdict(list)
        for entry in self._catalog.committed_files(name):
            by_version[entry.version].append(entry)
        docs = {canonicalize_version(d.version): d for d in self._store.releases(name)}
        since = (self._clock() - timedelta(days=DOWNLOAD_DAYS - 1)).date()
        counts = self._store.downloads(name, since)
        releases = []
        for release in latest_first(by_version):
            files = sorted(by_version[release], key=lambda f: f.filename)
            parsed = _version(release)
            canonical = canonicalize_version(release)
            releases.append(
                ReleaseView(
                    version=release,
                    files=files,
                    uploaded=min(f.upload_time for f in files),
                    yanked=all(f.yanked is not None for f in files),
                    yanked_reason=next((f.yanked for f in files if f.yanked), ""),
                    prerelease=bool(parsed and parsed.is_prerelease),
                    doc=docs.get(canonical),
                    downloads=counts.get(canonical, 0),
                )
            )
        if not releases:
            raise NotFoundError(f"No project named {name!r} on this index.")
        latest = next(
            (r for r in releases if not r.yanked and not r.prerelease),
            next((r for r in releases if not r.yanked), releases[0]),
        )
        shown = latest
        if version is not None:
            wanted = canonicalize_version(version)
            found = next((r for r in releases if canonicalize_version(r.version) == wanted), None)
            if found is None:
                raise NotFoundError(f"{name!r} has no release {version!r}.")
            shown = found
        html = ""
        if shown.doc and shown.doc.description_key:
            stored = self._objects.get(shown.doc.description_key)
            html = stored.body.decode("utf-8") if stored else ""
        return ProjectView(
            name=name,
            record=record,
            releases=releases,
            shown=shown,
            latest_version=latest.version,
            description_html=html,
            downloads_total=sum(r.downloads for r in releases),
        )

    # --- browser sessions -------------------------------------------------------------------

    def sign_in(self, principal: Principal, secret: str) -> tuple[str, BrowserSession]:
        """A new browser session for an authenticated token; (the cookie value, the record)."""
        session_id = new_browser_session_id()
        now = self._clock()
        record = BrowserSession(
            id_hash=hash_session_id(session_id),
            token_hash=hash_secret(secret),
            csrf=new_csrf_token(),
            created_at=now,
            expires_at=now + self._policy.browser_session_lifetime,
        )
        self._store.add_browser_session(record)
        return session_id, record

    def signed_in(self, session_id: str) -> SignedIn:
        """The browser session behind a cookie, and its token's principal, checked afresh on
        every request: an expired session or a revoked token is ``AuthenticationError``."""
        record = self._store.browser_session(hash_session_id(session_id))
        now = self._clock()
        if record is None or now >= record.expires_at:
            raise AuthenticationError("Your sign-in has expired; sign in again.")
        token = self._tokens.get_by_hash(record.token_hash)
        if token is None or token.status(now) != "active":
            self._store.end_browser_session(record.id_hash)
            raise AuthenticationError("The token you signed in with is no longer valid.")
        return SignedIn(session=record, principal=token.principal())

    def sign_out(self, session_id: str) -> None:
        self._store.end_browser_session(hash_session_id(session_id))

    @staticmethod
    def csrf_ok(session: BrowserSession, presented: str | None) -> bool:
        return bool(presented) and hmac.compare_digest(session.csrf, presented or "")

    # --- admin ------------------------------------------------------------------------------

    def sessions_in_progress(self, principal: Principal) -> list[SessionProgress]:
        """Publishing sessions not yet finished, with each file's progress; for the multipart
        mechanism the parts S3 holds are read live."""
        if not principal.is_admin:
            raise PermissionDeniedError("Only an admin may see publishing sessions.")
        sessions = sorted(self._sessions.open_sessions(), key=lambda s: s.created_at, reverse=True)
        return [self._progress(s) for s in sessions[:MAX_SESSIONS_SHOWN]]

    def _progress(self, session: SessionRecord) -> SessionProgress:
        files = []
        for record in self._sessions.list_files(session.token):
            if record.status is FileStatus.CANCELED:
                continue
            files.append(self._file_progress(record))
        return SessionProgress(
            key=hashlib.sha256(session.token.encode()).hexdigest()[:16],
            project=session.project,
            version=session.version,
            status=str(session.effective_status(self._clock())),
            created_by=session.created_by,
            created_at=session.created_at,
            expires_at=session.expires_at,
            files=files,
        )

    def _file_progress(self, record: FileRecord) -> FileProgress:
        parts, received = record.received_parts, record.received_bytes
        if record.status is FileStatus.PENDING and record.upload_id:
            try:
                held = self._staging.parts(record.staged_key, record.upload_id)
                parts, received = len(held), sum(size for _, size, _ in held)
            except Exception:
                logger.exception("listing parts failed", extra={"file": record.file_id})
        elif record.status is not FileStatus.PENDING:
            received = record.size
        total = -(-record.size // record.part_size) if record.part_size else None
        return FileProgress(
            filename=record.filename,
            status=str(record.status),
            size=record.size,
            received_parts=parts,
            received_bytes=received,
            total_parts=total,
            notices=record.notices,
        )


def _safe_url(url: str) -> bool:
    return url.lower().startswith(("https://", "http://"))


def status_choices() -> list[str]:
    return [str(s) for s in ProjectStatus]
