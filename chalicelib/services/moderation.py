"""Admin changes to what is published: yanking (PEP 592) and project status (PEP 792).

Each change is checked, then recorded in the audit trail (an error refuses it), then
made: the trail never misses a moderation that happened (services/audit.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from packaging.version import InvalidVersion, Version

from ..domain.audit import AuditKind
from ..domain.catalog import ProjectStatus
from ..domain.errors import NotFoundError

if TYPE_CHECKING:
    from ..domain.ports import Catalog
    from ..domain.tokens import Principal
    from .audit import AuditTrail
    from .publishing import Publisher

PROJECT_STATUSES = tuple(str(s) for s in ProjectStatus)


class Moderation:
    def __init__(self, catalog: Catalog, publisher: Publisher, audit: AuditTrail) -> None:
        self._catalog = catalog
        self._publisher = publisher
        self._audit = audit

    def _record(self, kind: AuditKind, project: str, by: Principal | str, **fields: object) -> None:
        # An admin request is not redelivered: the time is part of the id, so two yanks of
        # the same file are two events.
        key = f"{project}:{self._audit.now().isoformat()}"
        self._audit.record(self._audit.event(kind, key, by, project=project, **fields))

    def yank(
        self,
        project: str,
        target: str,
        reason: str | None,
        *,
        yanked: bool,
        by: Principal | str = "system",
    ) -> list[str]:
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
        versions = sorted({f.version for f in files if f.filename in chosen})
        self._record(
            AuditKind.YANKED if yanked else AuditKind.UNYANKED,
            project,
            by,
            version=",".join(versions),
            subject=target,
            reason=reason or None,
            details={"files": ",".join(chosen)},
        )
        self._catalog.set_yanked(project, chosen, (reason or "") if yanked else None)
        serial = self._catalog.raise_serial(project, at=self._audit.now())
        self._publisher.render_change(project, serial)
        return chosen

    def set_uploaders_cancel_own(
        self, project: str, allowed: bool, *, by: Principal | str = "system"
    ) -> None:
        """The project setting that lets upload-only tokens cancel their own sessions."""
        if self._catalog.project(project) is None:
            raise NotFoundError(f"No project named {project!r}.")
        self._record(
            AuditKind.PROJECT_SETTINGS,
            project,
            by,
            details={"uploaders_cancel_own": str(allowed).lower()},
        )
        self._catalog.set_uploaders_cancel_own(project, allowed)

    def set_status(
        self,
        project: str,
        status: ProjectStatus,
        reason: str | None,
        *,
        by: Principal | str = "system",
    ) -> None:
        """Set a project's PEP 792 status (``ConflictError`` unless it is published)."""
        record = self._catalog.project(project)
        if record is None:
            raise NotFoundError(f"No published project named {project!r}.")
        self._record(
            AuditKind.PROJECT_STATUS,
            project,
            by,
            subject=str(status),
            reason=reason or None,
            details={"from": str(record.status)},
        )
        serial = self._catalog.raise_serial(
            project, at=self._audit.now(), status=status, reason=reason or None, set_status=True
        )
        self._catalog.set_listed(project, status is not ProjectStatus.QUARANTINED)
        self._publisher.render_change(project, serial, root=True)
