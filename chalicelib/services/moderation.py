"""Admin changes to what is published: yanking (PEP 592) and project status (PEP 792)."""

from __future__ import annotations

from packaging.version import InvalidVersion, Version

from ..adapters.dynamo_catalog import DynamoCatalog
from ..domain.errors import InvalidRequestError, NotFoundError
from .publishing import Publisher

PROJECT_STATUSES = ("active", "archived", "deprecated", "quarantined")


class Moderation:
    def __init__(self, catalog: DynamoCatalog, publisher: Publisher) -> None:
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

    def set_status(self, project: str, status: str, reason: str | None) -> None:
        if status not in PROJECT_STATUSES:
            raise InvalidRequestError(
                f"Unknown project status {status!r}; use one of {', '.join(PROJECT_STATUSES)}.",
                errors=[{"source": "status", "message": "unknown status"}],
            )
        if self._catalog.project(project) is None:
            raise NotFoundError(f"No published project named {project!r}.")
        self._catalog.raise_serial(
            project, project_status=status, project_status_reason=reason or None
        )
        self._catalog.set_listed(project, status != "quarantined")
        self._publisher.render_project(project)
        self._publisher.render_root()
