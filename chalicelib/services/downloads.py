"""Serving files: an authorised 302 to a short-lived presigned GET, and stage previews."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..domain.catalog import ProjectRecord, ProjectStatus
from ..domain.errors import NotFoundError
from ..domain.filenames import DistKind, FilenameError, parse_filename
from ..domain.index import FileEntry, ProjectPage
from ..domain.layout import published_key
from ..domain.sessions import FileStatus, SessionRecord, SessionStatus
from .publishing import Publisher, _entry
from .read_cache import Bounded, Recent

if TYPE_CHECKING:
    from ..domain.ports import Catalog, Clock, ObjectStore, SessionRepository
    from ..domain.tokens import Principal

METADATA_SUFFIX = ".metadata"
# Core metadata this small is answered in the response itself: an install fetches one
# .metadata per candidate, and a redirect would cost each a second round trip to S3.
INLINE_METADATA_BYTES = 256 * 1024
# What a warm instance keeps between requests (read_cache): enough for the files of a
# large install and the metadata of its candidates.
CACHED_ENTRIES = 4096
CACHED_METADATA_CHARS = 16 * 1024 * 1024


@dataclass(frozen=True)
class Inline:
    """A published file's bytes, answered directly (the body is text: core metadata)."""

    body: str
    etag: str


class Downloads:
    def __init__(
        self,
        catalog: Catalog,
        store: SessionRepository,
        objects: ObjectStore,
        publisher: Publisher,
        clock: Clock,
        *,
        expires: int,
        cache_seconds: float = 0,
    ) -> None:
        self._catalog = catalog
        self._store = store
        self._objects = objects
        self._publisher = publisher
        self._clock = clock
        self._expires = expires
        self._serving: Recent[str, bool] = Recent(clock, cache_seconds, CACHED_ENTRIES)
        self._files: Recent[tuple[str, str], FileEntry] = Recent(
            clock, cache_seconds, CACHED_ENTRIES
        )
        self._metadata: Bounded[str, Inline] = Bounded(
            CACHED_METADATA_CHARS, lambda inline: len(inline.body)
        )
        self._urls: Recent[tuple[str, str | None], str] = Recent(clock, expires / 2, CACHED_ENTRIES)

    def published(self, principal: Principal, project: str, name: str) -> str | Inline:
        """A presigned URL for a published file, its small ``.metadata`` itself; 404 for
        anything else, including files of quarantined projects and projects the caller may
        not read."""
        if not principal.can_read(project):
            raise NotFoundError("No such file.")
        if not self._project_serves_files(project):
            raise NotFoundError("No such file.")
        return self._published_metadata(project, name) or self._published_url(project, name)

    def _published_metadata(self, project: str, name: str) -> Inline | None:
        """A published file's small ``.metadata`` itself (one round trip for an installer,
        not two); ``None`` for a name that is not one."""
        if not name.endswith(METADATA_SUFFIX):
            return None
        entry = self._published_file(project, name.removesuffix(METADATA_SUFFIX))
        if entry is None or not entry.metadata_sha256:
            return None
        return self._inline(entry.key, project, name)

    def _project_serves_files(self, project: str) -> bool:
        if self._serving.get(project):
            return True
        serving = _serves_files(self._catalog.project(project))
        if serving:
            self._serving.put(project, True)
        return serving

    def _published_file(self, project: str, filename: str) -> FileEntry | None:
        entry = self._files.get((project, filename))
        if entry is None:
            entry = self._catalog.published_file(project, filename)
            if entry is not None:
                self._files.put((project, filename), entry)
        return entry

    def _inline(self, key: str | None, project: str, name: str) -> Inline | None:
        """Remembered under its S3 key: a filename is published once, forever, so the
        metadata under a published file's key never changes (and ``_published_file``
        has said, moments ago at most, that the file is published)."""
        metadata_key = key + METADATA_SUFFIX if key else published_key(project, name)
        if (known := self._metadata.get(metadata_key)) is not None:
            return known
        inline = self._read_inline(metadata_key)
        if inline is not None:
            self._metadata.put(metadata_key, inline)
        return inline

    def _read_inline(self, key: str) -> Inline | None:
        """The object at ``key`` as text to answer with, if small and UTF-8."""
        stored = self._objects.get(key)
        if stored is None or len(stored.body) > INLINE_METADATA_BYTES:
            return None
        try:
            return Inline(body=stored.body.decode("utf-8"), etag=stored.etag)
        except UnicodeDecodeError:
            return None  # served as it is stored, by S3

    def _published_url(self, project: str, name: str) -> str:
        filename = name.removesuffix(METADATA_SUFFIX)
        entry = self._published_file(project, filename)
        if entry is None:
            raise NotFoundError("No such file.")
        key = entry.key or published_key(project, filename)
        if name.endswith(METADATA_SUFFIX):
            if not entry.metadata_sha256:
                raise NotFoundError("This file has no separate metadata.")
            return self._presigned(key + METADATA_SUFFIX, None)
        return self._presigned(key, filename)

    def _presigned(self, key: str, filename: str | None) -> str:
        """One URL per published object for half its life: pip's and uv's HTTP caches key
        on the URL, so a fresh signature on every request made every install download
        every file again. The URL is given only after this request's checks, and it
        lets no one do more than a URL signed now would (it expires sooner)."""
        url = self._urls.get((key, filename))
        if url is None:
            url = self._objects.presigned_get(
                key, expires=self._expires, filename=filename, immutable=True
            )
            self._urls.put((key, filename), url)
        return url

    # --- stage previews: the session token is the credential -----------------------------

    def _live_stage(self, token: str) -> SessionRecord:
        session = self._store.get_session(token)
        if session is None or session.effective_status(self._clock()) not in (
            SessionStatus.OPEN,
            SessionStatus.ERROR,
            SessionStatus.PROCESSING,
        ):
            raise NotFoundError("No such stage: it was published, canceled or has expired.")
        return session

    def stage_project(self, token: str) -> str:
        return self._live_stage(token).project

    def stage_page(self, token: str, project: str) -> ProjectPage:
        """The project as it would look once this session is published."""
        session = self._live_stage(token)
        if project != session.project:
            raise NotFoundError("This stage holds one project only.")
        published = self._publisher.project_page(project)
        files: dict[str, FileEntry] = {}
        if published is not None and published.status != ProjectStatus.QUARANTINED:
            files = {f.filename: f for f in published.files}
        for record in self._store.list_files(token):
            if record.status is FileStatus.COMPLETED:
                files[record.filename] = _entry(record, session.version)
        return ProjectPage(
            name=project,
            files=tuple(files.values()),
            last_serial=published.last_serial if published else 0,
        )

    def staged(self, token: str, name: str) -> str | Inline:
        """A presigned URL for a staged (completed) file, or its small metadata itself; else
        what the published file gives."""
        session = self._live_stage(token)
        filename = name.removesuffix(METADATA_SUFFIX)
        for record in self._store.list_files(token):
            if record.filename == filename and record.status is FileStatus.COMPLETED:
                if name.endswith(METADATA_SUFFIX):
                    try:
                        wheel = parse_filename(filename).kind is DistKind.WHEEL
                    except FilenameError:
                        wheel = False
                    if not (wheel and record.metadata_key):
                        raise NotFoundError("This file has no separate metadata.")
                    # Not remembered: a staged file can still be deleted and sent again.
                    return self._read_inline(record.metadata_key) or self._objects.presigned_get(
                        record.metadata_key, expires=self._expires
                    )
                return self._objects.presigned_get(
                    record.staged_key, expires=self._expires, filename=filename
                )
        if not _serves_files(self._catalog.project(session.project)):
            raise NotFoundError("No such file.")
        project = session.project
        return self._published_metadata(project, name) or self._published_url(project, name)


def _serves_files(record: ProjectRecord | None) -> bool:
    """Quarantined projects serve no files (PEP 792)."""
    return record is not None and record.status is not ProjectStatus.QUARANTINED
