"""The static simple index as values, and its rendering: pure functions from data to bytes."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from html import escape
from urllib.parse import quote

from packaging.utils import canonicalize_name
from packaging.version import Version

from .provenance import integrity_url

API_VERSION = "1.4"
UrlFor = Callable[[str, str], str]  # (project, filename) -> URL relative to the project page


@dataclass(frozen=True)
class ProjectListing:
    """One line of the root index: a published project's display name and last serial."""

    name: str
    last_serial: int = 0

    @property
    def canonical(self) -> str:
        return canonicalize_name(self.name)


@dataclass(frozen=True)
class RootIndex:
    """The list of published projects (never reserved names) and the index's last serial."""

    projects: tuple[ProjectListing, ...] = ()
    last_serial: int = 0

    def sorted_projects(self) -> list[ProjectListing]:
        return sorted(self.projects, key=lambda p: p.canonical)


def render_root_html(root: RootIndex) -> bytes:
    """PEP 503 project list; links are relative so the page works under any host or prefix."""
    links = "\n".join(
        f'    <a href="{escape(p.canonical)}/">{escape(p.name)}</a><br>'
        for p in root.sorted_projects()
    )
    page = (
        "<!DOCTYPE html>\n<html>\n  <head>\n"
        f'    <meta name="pypi:repository-version" content="{API_VERSION}">\n'
        "    <title>Simple index</title>\n  </head>\n  <body>\n"
        f"{links}{chr(10) if links else ''}"
        "  </body>\n</html>\n"
    )
    return page.encode("utf-8")


def render_root_json(root: RootIndex) -> bytes:
    """PEP 691 project list. Per-project serials are left out: the root is re-rendered only
    when the set of projects changes, so they would go stale."""
    doc = {
        "meta": {"api-version": API_VERSION, "_last-serial": root.last_serial},
        "projects": [{"name": p.name} for p in root.sorted_projects()],
    }
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


@dataclass(frozen=True)
class FileEntry:
    """One published file as the project page shows it."""

    filename: str
    version: str
    size: int
    sha256: str
    upload_time: str  # UTC, "YYYY-MM-DDTHH:MM:SS.ffffffZ"
    requires_python: str | None = None
    metadata_sha256: str | None = None  # set when <file>.metadata is served (wheels)
    yanked: str | None = None  # None: not yanked; "": yanked without a reason
    # The PEP 740 publisher (compact JSON) of a file with verified provenance; its provenance
    # object is served by the Integrity API (domain/provenance.py).
    provenance_publisher: str | None = None
    # Where the bytes are (the metadata beside them, + ".metadata"); ``None``: at
    # layout.published_key, where legacy uploads and older releases put them.
    key: str | None = None


@dataclass(frozen=True)
class ProjectPage:
    name: str  # canonical
    files: tuple[FileEntry, ...]
    last_serial: int
    status: str = "active"
    status_reason: str | None = None
    # Who published each release (version -> JSON), shown under a private key (PEP 691
    # reserves `_`-prefixed keys for the index).
    published_by: dict[str, dict[str, object]] = field(default_factory=dict)
    # The public base URL: provenance links must be absolute (PEP 740), so a page links
    # provenance only when the deployment knows its own address (WHARF_PUBLIC_URL).
    provenance_base: str | None = None

    def provenance_url(self, entry: FileEntry) -> str | None:
        if not (entry.provenance_publisher and self.provenance_base):
            return None
        return integrity_url(self.provenance_base, self.name, entry.version, entry.filename)

    @property
    def listed_files(self) -> list[FileEntry]:
        """Quarantined projects list no files (PEP 792)."""
        if self.status == "quarantined":
            return []
        return sorted(self.files, key=lambda f: f.filename)

    @property
    def versions(self) -> list[str]:
        return sorted({f.version for f in self.listed_files}, key=Version)


def file_url(project: str, filename: str) -> str:
    """Relative to the project page (`<base>/simple/<project>/`): `<base>/files/<project>/<file>`.

    Percent-encoded so `+` (local versions) and `!` (epochs) survive.
    """
    return f"../../files/{quote(project)}/{quote(filename)}"


def render_project_html(page: ProjectPage, url_for: UrlFor | None = None) -> bytes:
    head = [
        f'    <meta name="pypi:repository-version" content="{API_VERSION}">',
        f'    <meta name="pypi:project-status" content="{escape(page.status)}">',
    ]
    if page.status_reason:
        head.append(
            f'    <meta name="pypi:project-status-reason" content="{escape(page.status_reason)}">'
        )
    links = []
    for entry in page.listed_files:
        url = (url_for or file_url)(page.name, entry.filename)
        attrs = [f'href="{escape(url)}#sha256={entry.sha256}"']
        if entry.requires_python:
            attrs.append(f'data-requires-python="{escape(entry.requires_python)}"')
        if entry.yanked is not None:
            attrs.append(f'data-yanked="{escape(entry.yanked)}"')
        if entry.metadata_sha256:
            value = f"sha256={entry.metadata_sha256}"
            attrs.append(f'data-core-metadata="{value}"')
            attrs.append(f'data-dist-info-metadata="{value}"')
        provenance = page.provenance_url(entry)
        if provenance:
            attrs.append(f'data-provenance="{escape(provenance)}"')
        links.append(f"    <a {' '.join(attrs)}>{escape(entry.filename)}</a><br>")
    body = "\n".join(links)
    page_text = (
        "<!DOCTYPE html>\n<html>\n  <head>\n"
        + "\n".join(head)
        + f"\n    <title>Links for {escape(page.name)}</title>\n  </head>\n  <body>\n"
        + f"    <h1>Links for {escape(page.name)}</h1>\n"
        + (body + "\n" if body else "")
        + "  </body>\n</html>\n"
        + f"<!--SERIAL {page.last_serial}-->\n"
    )
    return page_text.encode("utf-8")


def render_project_json(page: ProjectPage, url_for: UrlFor | None = None) -> bytes:
    status: dict[str, str] = {"status": page.status}
    if page.status_reason:
        status["reason"] = page.status_reason
    files = []
    for entry in page.listed_files:
        item: dict[str, object] = {
            "filename": entry.filename,
            "url": (url_for or file_url)(page.name, entry.filename),
            "hashes": {"sha256": entry.sha256},
            "requires-python": entry.requires_python,
            "core-metadata": {"sha256": entry.metadata_sha256} if entry.metadata_sha256 else False,
            # An empty reason would read as "not yanked": say true instead.
            "yanked": (entry.yanked or True) if entry.yanked is not None else False,
            "size": entry.size,
            "upload-time": entry.upload_time,
        }
        provenance = page.provenance_url(entry)
        if provenance:
            item["provenance"] = provenance
        files.append(item)
    doc = {
        "meta": {"api-version": API_VERSION, "_last-serial": page.last_serial},
        "name": page.name,
        "project-status": status,
        "versions": page.versions,
        "files": files,
    }
    shown = {v: page.published_by[v] for v in page.versions if v in page.published_by}
    if shown:
        doc["_wharf-published-by"] = shown
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
