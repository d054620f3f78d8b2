"""What is published, as typed records: projects, filename claims, release files, commits."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import ConfigDict

from .audit import ReleasePublisher
from .index import FileEntry
from .model import WharfModel


class ProjectState(StrEnum):
    """Whether a project name is free, held for a first release, or has published files."""

    NEW = "new"  # no record: nobody has published or reserved the name
    RESERVED = "reserved"  # held by the open sessions of its first release
    # Stored as "active" since the first release of wharf; the name says what it means.
    PUBLISHED = "active"


class ProjectStatus(StrEnum):
    """PEP 792 project status, set by an admin (independent of ``ProjectState``)."""

    ACTIVE = "active"
    ARCHIVED = "archived"
    DEPRECATED = "deprecated"
    QUARANTINED = "quarantined"

    @property
    def closed(self) -> bool:
        """Takes no new files (PyPI: archived; wharf also quarantined, whose point is that
        nothing changes until an admin has looked)."""
        return self in (ProjectStatus.ARCHIVED, ProjectStatus.QUARANTINED)


class ProjectRecord(WharfModel):
    """The project's one record: its state, serials and PEP 792 status."""

    model_config = ConfigDict(frozen=True)

    name: str
    state: ProjectState
    serial: int = 0  # the serial of the project's last change the index must show
    rendered_serial: int = 0  # the index pages show every commit up to this serial
    status: ProjectStatus = ProjectStatus.ACTIVE
    status_reason: str | None = None
    reservations: frozenset[str] = frozenset()  # sessions holding a reserved name
    # A project setting (issue 15): upload-only tokens may cancel the sessions they opened.
    uploaders_cancel_own: bool = False

    @property
    def published(self) -> bool:
        return self.state is ProjectState.PUBLISHED


class FilenameClaim(WharfModel):
    """A filename's one claim (keyed by its reservation name): held by a publish in
    progress, or published for ever once ``published_at`` is set."""

    model_config = ConfigDict(frozen=True)

    filename: str  # the reservation name the claim is stored under
    holder: str  # a session token, or "legacy:<sha256>" for a one-file legacy release
    project: str
    version: str
    sha256: str | None = None  # the legacy door records the bytes it reserved for
    reserved_at: datetime | None = None
    published_at: datetime | None = None

    @property
    def published(self) -> bool:
        return self.published_at is not None


def legacy_holder(sha256: str) -> str:
    """The holder of a legacy upload's claim: the bytes, so an identical retry finds it."""
    return f"legacy:{sha256}"


def is_legacy_holder(holder: str) -> bool:
    return holder.startswith("legacy:")


class PublishedFile(WharfModel):
    """A release file as the catalog stores it: the index entry and who committed it."""

    model_config = ConfigDict(frozen=True)

    holder: str
    entry: FileEntry


class ReleaseCommit(WharfModel):
    """What one commit makes visible, in one transaction (see Catalog.commit)."""

    model_config = ConfigDict(frozen=True)

    project: str
    version: str
    holder: str  # the session token, or the legacy holder
    serial: int
    at: datetime
    keep_until: datetime  # how long a committed session keeps answering its status
    has_files: bool
    # A session commits with its status write (processing -> published) and unlocks its
    # release; a one-file legacy release has no session.
    via_session: bool = True
    list_project: bool = True  # a new project joins the root's list
    published_by: ReleasePublisher | None = None  # recorded on the commit (issue 15)
