"""Local distribution files: what release they belong to, their hashes, their metadata."""

from __future__ import annotations

import email.parser
import hashlib
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from packaging.utils import parse_sdist_filename, parse_wheel_filename

CHUNK = 4 * 1024 * 1024


@dataclass(frozen=True)
class Dist:
    path: Path
    project: str
    version: str
    size: int
    sha256: str
    md5: str
    blake2_256: str

    @property
    def filename(self) -> str:
        return self.path.name

    @property
    def filetype(self) -> str:
        return "bdist_wheel" if self.filename.endswith(".whl") else "sdist"


def inspect(path: Path) -> Dist:
    """Parse the filename and hash the file once, streaming."""
    name = path.name
    if name.endswith(".whl"):
        project, version, _, _ = parse_wheel_filename(name)
    elif name.endswith((".tar.gz", ".zip")):
        project, version = parse_sdist_filename(name)
    else:
        raise ValueError(f"{name}: not a wheel or an sdist")
    sha256, md5, blake = hashlib.sha256(), hashlib.md5(), hashlib.blake2b(digest_size=32)
    size = 0
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            size += len(chunk)
            for hasher in (sha256, md5, blake):
                hasher.update(chunk)
    return Dist(
        path=path,
        project=str(project),
        version=str(version),
        size=size,
        sha256=sha256.hexdigest(),
        md5=md5.hexdigest(),
        blake2_256=blake.hexdigest(),
    )


def core_metadata(dist: Dist) -> dict[str, list[str]]:
    """The file's own core metadata (METADATA or PKG-INFO), for the legacy upload form."""
    raw = b""
    if dist.filename.endswith(".whl"):
        with zipfile.ZipFile(dist.path) as zf:
            name = next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
            raw = zf.read(name)
    else:
        with tarfile.open(dist.path, "r:gz") as tar:
            member = next(
                m
                for m in tar.getmembers()
                if m.name.count("/") == 1 and m.name.endswith("/PKG-INFO")
            )
            handle = tar.extractfile(member)
            raw = handle.read() if handle else b""
    message = email.parser.BytesParser().parsebytes(raw)
    fields: dict[str, list[str]] = {}
    for key, value in message.items():
        fields.setdefault(key.lower().replace("-", "_"), []).append(str(value))
    body = message.get_payload()
    if isinstance(body, str) and body.strip():
        fields["description"] = [body]
    return fields
