"""Admin changes to what is published: yanking (PEP 592) and project status (PEP 792)."""

from __future__ import annotations

from packaging.version import InvalidVersion, Version

from ..domain.catalog import ProjectStatus
from ..domain.errors import NotFoundError
from ..domain.ports import Catalog
from .publishing import Publisher

PROJECT_STATUSES = tuple(str(s) for s in ProjectStatus)


class Moderation:
    def __init__(self, catalog: Catalog, publisher: Publisher) -> None:
        self._catalog = catalog
        self._publisher = publisher

    def yank(self, project: str, target: str, reason: str | None, *, yanked: bool) -> list[str]:
        """Yank or unyank one file, or every file of a version; returns the filenames."""
        files = self._catalog.committed_files(project)
        chosen = [f.filename for f in files if f.filename == target]
        if not chosen:
            try:
                version = Version(target)
            except InvalidVersion:
                version = None
            chosen = [f.filename for f in files if version and Version(f.version) == version]
        if not chosen:
            raise NotFoundError(f"{project!r} has no published file or version {target!r}.")
        self._catalog.set_yanked(project, chosen, (reason or "") if yanked else None)
        self._catalog.raise_serial(project)
        self._publisher.render_project(project)
        return chosen

    def set_uploaders_cancel_own(self, project: str, allowed: bool) -> None:
        """The project setting that lets upload-only tokens cancel their own sessions."""
        self._catalog.set_uploaders_cancel_own(project, allowed)

    def set_status(self, project: str, status: ProjectStatus, reason: str | None) -> None:
        """Set a project's PEP 792 status (``ConflictError`` unless it is published)."""
        if self._catalog.project(project) is None:
            raise NotFoundError(f"No published project named {project!r}.")
        self._catalog.raise_serial(project, status=status, reason=reason or None, set_status=True)
        self._catalog.set_listed(project, status is not ProjectStatus.QUARANTINED)
        self._publisher.render_project(project)
        self._publisher.render_root()
