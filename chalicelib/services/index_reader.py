"""Reading the static index that the publisher wrote to the bucket."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..domain.index import RootIndex, render_root_html, render_root_json
from ..domain.layout import ROOT_INDEX_HTML, ROOT_INDEX_JSON, project_index_keys
from .read_cache import Bounded

if TYPE_CHECKING:
    from ..domain.negotiation import IndexFormat
    from ..domain.ports import Catalog, ObjectStore

SERIAL_METADATA = "last-serial"


@dataclass(frozen=True)
class IndexPage:
    body: bytes
    etag: str
    last_serial: int


def page_of(body: bytes, serial: int) -> IndexPage:
    return IndexPage(body=body, etag=f'"{hashlib.md5(body).hexdigest()}"', last_serial=serial)


class IndexReader:
    """The pages as the publisher wrote them.

    A project's page is read on every install, and an S3 GET is most of what that request
    costs. A warm instance keeps the pages it read (``cache_bytes`` in all) and serves one
    again while its serial is the project's serial, read consistently (two attributes of
    the project's record): a commit, a yank or a status change raises that serial before
    the page is rendered, and a page carries the serial it was rendered from. So a page
    served from memory shows everything committed, as a GET would; until the new page is
    written, the GET is made. The DynamoDB read costs about half an S3 GET's CPU
    (``python -m bench.request_cpu``).
    """

    def __init__(self, objects: ObjectStore, catalog: Catalog, cache_bytes: int = 0) -> None:
        self._objects = objects
        self._catalog = catalog
        self._pages: Bounded[str, IndexPage] | None = (
            Bounded(cache_bytes, lambda page: len(page.body)) if cache_bytes else None
        )

    def _stored(self, key: str) -> IndexPage | None:
        stored = self._objects.get(key)
        if stored is None:
            return None
        serial = int(stored.metadata.get(SERIAL_METADATA, "0"))
        return IndexPage(body=stored.body, etag=stored.etag, last_serial=serial)

    def root(self, fmt: IndexFormat) -> IndexPage:
        """The root project list in ``fmt``; an index nobody has published to is empty."""
        stored = self._stored(ROOT_INDEX_JSON if fmt.is_json else ROOT_INDEX_HTML)
        if stored is not None:
            return stored
        empty = RootIndex()
        return page_of(render_root_json(empty) if fmt.is_json else render_root_html(empty), 0)

    def project(self, project: str, fmt: IndexFormat) -> IndexPage | None:
        """A published project's page, or ``None`` (never for reserved names)."""
        html_key, json_key = project_index_keys(project)
        key = json_key if fmt.is_json else html_key
        if self._pages is None:
            return self._stored(key)
        serial = self._catalog.published_serial(project)
        if serial is None:
            # Pages are rendered for published projects only, and a project never stops
            # being published: no GET for the names another index serves (pip asks an
            # --extra-index-url for every one).
            return None
        known = self._pages.get(key)
        if known is not None and known.last_serial >= serial:
            return known
        page = self._stored(key)
        if page is not None:
            self._pages.put(key, page)
        return page
