"""What a downloaded distribution says about itself: its core metadata's version and the
fields that old and new tools write differently. Read only to describe the coverage."""

from __future__ import annotations

import email.parser
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

MAX_METADATA = 2 * 1024 * 1024


@dataclass(frozen=True)
class CoreMetadata:
    metadata_version: str
    license_file: bool
    license_expression: bool


def _is_pkg_info(name: str) -> bool:
    # The sdist's own PKG-INFO sits directly under its one top directory.
    parts = name.strip("/").split("/")
    return len(parts) == 2 and parts[1] == "PKG-INFO"


def _raw(path: Path) -> bytes | None:
    name = path.name
    if name.endswith((".whl", ".zip")):
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                inner = info.filename
                wanted = (
                    inner.count("/") == 1 and inner.endswith(".dist-info/METADATA")
                    if name.endswith(".whl")
                    else _is_pkg_info(inner)
                )
                if wanted and info.file_size <= MAX_METADATA:
                    return archive.read(info)
        return None
    if name.endswith(".tar.gz"):
        with tarfile.open(path, "r:gz") as archive:
            for member in archive:
                if member.isfile() and _is_pkg_info(member.name) and member.size <= MAX_METADATA:
                    handle = archive.extractfile(member)
                    return handle.read() if handle else None
    return None


def read(path: Path) -> CoreMetadata | None:
    """The file's core metadata summary, or None when it has none we can find."""
    try:
        raw = _raw(path)
    except (OSError, zipfile.BadZipFile, tarfile.TarError, EOFError):
        return None
    if raw is None:
        return None
    return parse(raw)


def parse(raw: bytes) -> CoreMetadata:
    headers = email.parser.BytesHeaderParser().parsebytes(raw)
    return CoreMetadata(
        metadata_version=str(headers.get("Metadata-Version", "?")).strip(),
        license_file="License-File" in headers,
        license_expression="License-Expression" in headers,
    )
