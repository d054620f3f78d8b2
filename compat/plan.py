"""How the run spreads the files over stacks: pure functions of the list and the files."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Protocol, TypeVar

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from .catalog import Install


class Publishable(Protocol):
    @property
    def client_release(self) -> tuple[str, str]: ...

    @property
    def size(self) -> int: ...


F = TypeVar("F", bound=Publishable)


def by_project(files: Sequence[F]) -> dict[str, list[list[F]]]:
    """Files grouped as the client publishes them: releases (in list order) per project."""
    by_release: dict[tuple[str, str], list[F]] = defaultdict(list)
    for local in files:
        by_release[local.client_release].append(local)
    projects: dict[str, list[list[F]]] = defaultdict(list)
    for (project, _), group in by_release.items():
        projects[project].append(group)
    return dict(projects)


def batches(files: Sequence[F], max_files: int) -> list[list[F]]:
    """Whole projects packed into batches of at most ``max_files`` files (a larger project
    is a batch of its own), the projects with the most bytes first.

    Each batch gets a fresh stack: the local stack keeps every uploaded byte several times
    over in memory, so one stack for the whole list would outgrow a shared machine.
    """
    projects = sorted(
        by_project(files).values(), key=lambda rs: -sum(f.size for r in rs for f in r)
    )
    out: list[list[F]] = []
    current: list[F] = []
    for releases in projects:
        these = [f for release in releases for f in release]
        if current and len(current) + len(these) > max_files:
            out.append(current)
            current = []
        current += these
    if current:
        out.append(current)
    return out


def _version(text: str) -> Version | None:
    try:
        return Version(text)
    except InvalidVersion:
        return None


def install_files(installs: Sequence[Install], files: Sequence[F]) -> list[F]:
    """What the installs' own stack must host: for each requirement, the files of the
    releases it admits; for each project an install lists under ``with``, all its files."""
    requirements = [Requirement(r) for spec in installs for r in spec.requirements]
    beside = {canonicalize_name(name) for spec in installs for name in spec.with_}
    chosen = []
    for local in files:
        project, text = local.client_release
        version = _version(text)
        name = canonicalize_name(project)
        if name in beside or any(
            canonicalize_name(r.name) == name
            and version is not None
            and r.specifier.contains(version, prereleases=True)
            for r in requirements
        ):
            chosen.append(local)
    return chosen


def runnable(spec: Install, hosted: Sequence[Publishable]) -> bool:
    """Whether every requirement of ``spec`` has a release in ``hosted``."""
    versions = [
        (canonicalize_name(f.client_release[0]), _version(f.client_release[1])) for f in hosted
    ]
    return all(
        any(
            name == canonicalize_name(r.name)
            and version is not None
            and r.specifier.contains(version, prereleases=True)
            for name, version in versions
        )
        for r in map(Requirement, spec.requirements)
    )
