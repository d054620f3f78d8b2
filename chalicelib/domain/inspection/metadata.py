"""Core metadata: parsed and validated with packaging, checked against the release."""

from __future__ import annotations

from packaging.metadata import ExceptionGroup, InvalidMetadata, Metadata
from packaging.utils import canonicalize_name
from packaging.version import Version

from .limits import Limits
from .report import Inspection


def check_metadata(
    raw: bytes, *, source: str, project: str, version: Version, limits: Limits, found: Inspection
) -> None:
    """Validate ``raw`` core metadata (from ``source``) and record it on ``found``."""
    try:
        metadata = Metadata.from_email(raw, validate=True)
    except ExceptionGroup as group:
        for error in group.exceptions:
            field = getattr(error, "field", None)
            found.problem(f"{source}: {field + ': ' if field else ''}{error}")
        return
    except (InvalidMetadata, ValueError) as error:
        found.problem(f"{source}: {error}")
        return
    if metadata.metadata_version not in limits.metadata_versions:
        found.problem(
            f"{source}: Metadata-Version {metadata.metadata_version} is not accepted "
            f"(accepted: {', '.join(sorted(limits.metadata_versions))})"
        )
    if canonicalize_name(metadata.name) != project:
        found.problem(f"{source}: Name {metadata.name!r} does not match the project {project!r}")
    if metadata.version != version:
        found.problem(f"{source}: Version {metadata.version} does not match the release {version}")
    found.metadata = raw
    found.metadata_version = metadata.metadata_version
    found.requires_python = str(metadata.requires_python) if metadata.requires_python else None
