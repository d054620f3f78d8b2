"""Resolve the list against the registry and fill the download cache."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import requests
from packaging.utils import canonicalize_name

from . import coremeta
from .catalog import Catalog, Release, file_version, select_files
from .registry import RegistryError, RemoteFile, download, project_files


@dataclass(frozen=True)
class LocalFile:
    release: Release
    remote: RemoteFile
    path: Path
    metadata: coremeta.CoreMetadata | None

    @property
    def filename(self) -> str:
        return self.remote.filename

    @property
    def size(self) -> int:
        return self.path.stat().st_size

    @property
    def client_release(self) -> tuple[str, str]:
        """(project, version) as `wharf upload` groups the file: parsed from its name."""
        parsed = file_version(self.filename)
        if parsed:
            return parsed[0], str(parsed[1])
        return canonicalize_name(self.release.project), self.release.version


@dataclass
class Fetched:
    files: list[LocalFile]
    problems: list[str]
    fetched_bytes: int


def fetch(catalog: Catalog, cache: Path, *, jobs: int = 4, say=print) -> Fetched:
    """Every listed file in ``cache/files``, verified against the registry's sha256."""
    http = requests.Session()
    http.headers["User-Agent"] = "wharf-compat (make compat)"
    pages = cache / "simple"
    problems: list[str] = []
    wanted: list[tuple[Release, RemoteFile]] = []
    for release in catalog.releases:
        try:
            listed = project_files(http, release.project, pages)
        except (RegistryError, requests.RequestException) as error:
            problems.append(f"{release.key}: {error}")
            continue
        chosen, missing = select_files(release, sorted(listed))
        problems += [f"{release.key}: the registry has no {name}" for name in missing]
        wanted += [(release, listed[name]) for name in chosen]

    def one(item: tuple[Release, RemoteFile]) -> tuple[LocalFile | None, int, str | None]:
        release, remote = item
        target = cache / "files" / remote.filename
        try:
            fetched = download(http, remote, target)
        except (RegistryError, requests.RequestException, OSError) as error:
            return None, 0, f"{remote.filename}: {error}"
        local = LocalFile(release, remote, target, coremeta.read(target))
        return local, local.size if fetched else 0, None

    files: list[LocalFile] = []
    fetched_bytes = 0
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        for local, size, problem in pool.map(one, wanted):
            if problem:
                problems.append(problem)
            if local:
                files.append(local)
                fetched_bytes += size
    say(
        f"registry: {len(files)} files of {len(catalog.releases)} releases in {cache / 'files'}"
        f" ({fetched_bytes / 1e6:.1f} MB downloaded now, the rest from the cache)"
    )
    return Fetched(files, problems, fetched_bytes)
