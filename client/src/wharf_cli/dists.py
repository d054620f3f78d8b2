"""Local distribution files: what release they belong to, their hashes, their metadata."""

from __future__ import annotations

import hashlib
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from packaging.metadata import RawMetadata, parse_email
from packaging.utils import NormalizedName, parse_sdist_filename, parse_wheel_filename
from packaging.version import Version

from .client import ClientError

CHUNK = 4 * 1024 * 1024


@dataclass(frozen=True)
class Dist:
    path: Path
    project: str
    version: str
    size: int
    sha256: str

    @property
    def filename(self) -> str:
        return self.path.name

    def legacy_digests(self) -> tuple[str, str]:
        """(md5, blake2b-256): what the legacy form repeats beside the SHA-256. Computed
        only for the legacy door (files of 4 MiB at most): Upload 2.0 needs the SHA-256
        alone, and hashing a 512 MiB file three times took a second before the upload."""
        md5, blake = hashlib.md5(), hashlib.blake2b(digest_size=32)
        with self.path.open("rb") as handle:
            while chunk := handle.read(CHUNK):
                md5.update(chunk)
                blake.update(chunk)
        return md5.hexdigest(), blake.hexdigest()

    @property
    def filetype(self) -> str:
        return "bdist_wheel" if self.filename.endswith(".whl") else "sdist"


def release_of(filename: str) -> tuple[NormalizedName, Version]:
    """The project and version a wheel's or an sdist's filename names (packaging's
    parsers; their errors are ``ValueError``s). ``ValueError`` for any other file."""
    if filename.endswith(".whl"):
        project, version, _, _ = parse_wheel_filename(filename)
        return project, version
    if filename.endswith((".tar.gz", ".zip")):
        return parse_sdist_filename(filename)
    raise ValueError(f"{filename}: not a wheel or an sdist")


def inspect(path: Path) -> Dist:
    """Parse the filename and hash the file (SHA-256), streaming."""
    project, version = release_of(path.name)
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            size += len(chunk)
            digest.update(chunk)
    return Dist(
        path=path, project=str(project), version=str(version), size=size, sha256=digest.hexdigest()
    )


def core_metadata(dist: Dist) -> RawMetadata:
    """The file's own core metadata (a wheel's METADATA, an sdist's PKG-INFO), parsed by
    ``packaging.metadata``: what the legacy upload form repeats beside the file."""
    if dist.filename.endswith(".whl"):
        with zipfile.ZipFile(dist.path) as zf:
            names = [n for n in zf.namelist() if n.endswith(".dist-info/METADATA")]
            raw = zf.read(names[0]) if len(names) == 1 else None
    elif dist.filename.endswith(".zip"):
        with zipfile.ZipFile(dist.path) as zf:
            names = [n for n in zf.namelist() if _top_level_pkg_info(n)]
            raw = zf.read(names[0]) if len(names) == 1 else None
    else:
        with tarfile.open(dist.path, "r:gz") as tar:
            members = [m for m in tar.getmembers() if m.isfile() and _top_level_pkg_info(m.name)]
            handle = tar.extractfile(members[0]) if len(members) == 1 else None
            raw = handle.read() if handle else None
    if raw is None:
        kind = "METADATA" if dist.filetype == "bdist_wheel" else "PKG-INFO"
        raise ClientError(f"{dist.filename}: no {kind} (one, at the top) in the archive")
    metadata, _ = parse_email(raw)  # fields it cannot parse are the server's to refuse
    return metadata


def _top_level_pkg_info(name: str) -> bool:
    return name.count("/") == 1 and name.endswith("/PKG-INFO")
