"""Reading the static index that the publisher wrote to the bucket."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from ..domain.index import RootIndex, render_root_html, render_root_json
from ..domain.layout import ROOT_INDEX_HTML, ROOT_INDEX_JSON, project_index_keys
from ..domain.negotiation import IndexFormat
from ..domain.ports import ObjectStore

SERIAL_METADATA = "last-serial"


@dataclass(frozen=True)
class IndexPage:
    body: bytes
    etag: str
    last_serial: int


def page_of(body: bytes, serial: int) -> IndexPage:
    return IndexPage(body=body, etag=f'"{hashlib.md5(body).hexdigest()}"', last_serial=serial)


class IndexReader:
    def __init__(self, objects: ObjectStore) -> None:
        self._objects = objects

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
        return self._stored(json_key if fmt.is_json else html_key)
