"""Build real wheels and sdists in memory, good or deliberately broken, for tests."""

from __future__ import annotations

import base64
import hashlib
import io
import tarfile
import zipfile
from collections.abc import Iterable


def metadata_text(
    name: str = "acme-tools",
    version: str = "1.0",
    *,
    metadata_version: str = "2.1",
    requires_python: str | None = ">=3.9",
    requires: Iterable[str] = (),
    extra: Iterable[str] = (),
) -> str:
    lines = [f"Metadata-Version: {metadata_version}", f"Name: {name}", f"Version: {version}"]
    lines.append("Summary: A test distribution")
    if requires_python:
        lines.append(f"Requires-Python: {requires_python}")
    lines += [f"Requires-Dist: {r}" for r in requires]
    lines += list(extra)
    return "\n".join(lines) + "\n\nThe long description.\n"


def _record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"sha256={digest}"


def wheel_bytes(
    name: str = "acme_tools",
    version: str = "1.0",
    *,
    metadata: str | None = None,
    files: dict[str, bytes] | None = None,
    wheel_file: str
    | None = "Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    dist_info: str | None = None,
    omit: Iterable[str] = (),
    record_overrides: dict[str, str] | None = None,
    unlisted: dict[str, bytes] | None = None,
    compression: int = zipfile.ZIP_DEFLATED,
) -> bytes:
    """A wheel whose RECORD is correct unless told otherwise."""
    dist_info = dist_info or f"{name}-{version}.dist-info"
    package = name.replace("-", "_")
    contents: dict[str, bytes] = {f"{package}/__init__.py": b"VALUE = 1\n"}
    contents.update(files or {})
    contents[f"{dist_info}/METADATA"] = (
        metadata if metadata is not None else metadata_text(name.replace("_", "-"), version)
    ).encode()
    if wheel_file is not None:
        contents[f"{dist_info}/WHEEL"] = wheel_file.encode()
    for name_to_drop in omit:
        contents.pop(name_to_drop, None)
    record_lines = [f"{path},{_record_hash(data)},{len(data)}" for path, data in contents.items()]
    for path, value in (record_overrides or {}).items():
        record_lines = [line for line in record_lines if not line.startswith(path + ",")]
        record_lines.append(f"{path},{value},")
    record_lines.append(f"{dist_info}/RECORD,,")
    if f"{dist_info}/RECORD" not in set(omit):
        contents[f"{dist_info}/RECORD"] = ("\n".join(record_lines) + "\n").encode()
    contents.update(unlisted or {})
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as zf:
        for path, data in contents.items():
            zf.writestr(path, data)
    return buffer.getvalue()


def tar_member(name: str, data: bytes = b"", **attrs) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o644
    for key, value in attrs.items():
        setattr(info, key, value)
    return info, data


def sdist_bytes(
    name: str = "acme_tools",
    version: str = "1.0",
    *,
    top: str | None = None,
    pkg_info: str | None = None,
    extra: Iterable[tuple[tarfile.TarInfo, bytes]] = (),
    include_pkg_info: bool = True,
) -> bytes:
    top = top or f"{name}-{version}"
    members = [tar_member(f"{top}/pyproject.toml", b"[project]\nname = 'x'\n")]
    if include_pkg_info:
        text = (
            pkg_info
            if pkg_info is not None
            else metadata_text(name.replace("_", "-"), version, metadata_version="2.2")
        )
        members.append(tar_member(f"{top}/PKG-INFO", text.encode()))
    members.append(tar_member(f"{top}/src/{name}/__init__.py", b"VALUE = 1\n"))
    members.extend(extra)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", format=tarfile.PAX_FORMAT) as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if info.isreg() else None)
    return buffer.getvalue()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
