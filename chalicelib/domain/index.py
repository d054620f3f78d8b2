"""The static simple index as values, and its rendering: pure functions from data to bytes."""

from __future__ import annotations

import json
from dataclasses import dataclass
from html import escape

from packaging.utils import canonicalize_name

API_VERSION = "1.4"


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
    """PEP 691 project list with PyPI's private ``_last-serial`` keys."""
    doc = {
        "meta": {"api-version": API_VERSION, "_last-serial": root.last_serial},
        "projects": [
            {"name": p.name, "_last-serial": p.last_serial} for p in root.sorted_projects()
        ],
    }
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
