"""Build real wheels and sdists in memory, good or deliberately broken, for tests."""

from __future__ import annotations

import base64
import gzip
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
    summary: str = "A test distribution",
) -> str:
    lines = [f"Metadata-Version: {metadata_version}", f"Name: {name}", f"Version: {version}"]
    lines.append(f"Summary: {summary}")
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
    after: bytes = b"",
) -> bytes:
    """A gzip tar sdist; ``after`` is appended to the tar inside the gzip stream."""
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
    return gzip.compress(tar_bytes(members) + after, mtime=0)


def sdist_members(
    name: str = "acme_tools",
    version: str = "1.0",
    *,
    top: str | None = None,
    pkg_info: str | None = None,
) -> list[tuple[tarfile.TarInfo, bytes]]:
    top = top or f"{name}-{version}"
    text = pkg_info or metadata_text(name.replace("_", "-"), version, metadata_version="2.2")
    return [tar_member(f"{top}/PKG-INFO", text.encode())]


def tar_bytes(members: Iterable[tuple[tarfile.TarInfo, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if info.isreg() else None)
    return buffer.getvalue()


def zip_sdist_bytes(
    name: str = "acme_tools", version: str = "1.0", *, top: str | None = None
) -> bytes:
    """A .zip sdist, as setuptools built them with --formats=zip before PEP 625."""
    top = top or f"{name}-{version}"
    pkg_info = metadata_text(name.replace("_", "-"), version, metadata_version="2.1")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(f"{top}/PKG-INFO", pkg_info)
        zf.writestr(f"{top}/setup.py", "from setuptools import setup\nsetup()\n")
    return buffer.getvalue()


# --- hostile archives (issue 11) -------------------------------------------------------------


def pax_header_sdist(payload: int, name: str = "acme_tools", version: str = "1.0") -> bytes:
    """A small sdist whose one PAX header carries ``payload`` bytes of zeros."""
    info, data = tar_member(f"{name}-{version}/big", b"x")
    info.pax_headers = {"comment": "0" * payload}
    return sdist_bytes(name, version, extra=[(info, data)])


def symlink_chain_sdist(depth: int = 3) -> bytes:
    """``d/up -> ..``, ``d/up/e1 -> ..``, ...: each link alone stays inside; together they
    climb out of the directory a plain ``tarfile.extractall`` unpacks into."""
    root = "acme_tools-1.0"
    links = [tar_member(f"{root}/d", type=tarfile.DIRTYPE, mode=0o755)]
    path = f"{root}/d/up"
    links.append(tar_member(path, type=tarfile.SYMTYPE, linkname=".."))
    for level in range(1, depth + 1):
        path = f"{path}/e{level}"
        links.append(tar_member(path, type=tarfile.SYMTYPE, linkname=".."))
    return sdist_bytes(extra=links)


def _zip(write) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        write(zf, buffer)
    return buffer.getvalue()


def wheel_entries(**options) -> list[tuple[str, bytes]]:
    with zipfile.ZipFile(io.BytesIO(wheel_bytes(**options))) as zf:
        return [(i.filename, zf.read(i)) for i in zf.infolist()]


def wheel_with_gap(hidden: bytes = b"HIDDEN PAYLOAD") -> bytes:
    """A wheel with bytes between two members that no directory entry accounts for."""

    def write(zf: zipfile.ZipFile, buffer: io.BytesIO) -> None:
        for index, (name, data) in enumerate(wheel_entries()):
            zf.writestr(name, data)
            if index == 0:
                buffer.write(hidden)
                zf.start_dir = buffer.tell()

    return _zip(write)


def wheel_with_directory_data() -> bytes:
    """A directory entry (name ending '/') that carries bytes."""

    def write(zf: zipfile.ZipFile, _buffer: io.BytesIO) -> None:
        for name, data in wheel_entries():
            zf.writestr(name, data)
        zf.writestr(zipfile.ZipInfo("acme_tools/hidden/"), b"HIDDEN PAYLOAD")

    return _zip(write)


class Pipe(io.RawIOBase):
    """An unseekable sink: zipfile writes data descriptors to it, as it does to a pipe."""

    def __init__(self) -> None:
        self.data = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, chunk) -> int:
        self.data += chunk
        return len(chunk)


def wheel_with_data_descriptors(compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    sink = Pipe()
    with zipfile.ZipFile(sink, "w", compression) as zf:
        for name, data in wheel_entries():
            with zf.open(name, "w") as member:
                member.write(data)
    return bytes(sink.data)


def zip_tar_polyglot() -> bytes:
    """A wheel whose first 512 bytes are also a valid tar header (its first member's long
    name carries the tar checksum)."""
    entries = wheel_entries()

    def build(name: str) -> bytes:
        def write(zf: zipfile.ZipFile, _buffer: io.BytesIO) -> None:
            zf.writestr(name, b"x")
            for entry_name, data in entries:
                zf.writestr(entry_name, data)

        return _zip(write)

    # The tar header's numeric fields (bytes 100-156) fall inside the first member's name,
    # which starts at byte 30: spell them as octal there, then the checksum over the block.
    name = bytearray(("acme_tools/" + "a" * 400).encode())
    for start, width in ((100, 8), (108, 8), (116, 8), (124, 12), (136, 12), (329, 8), (337, 8)):
        name[start - 30 : start - 30 + width] = b"0" * (width - 1) + b" "
    name[156 - 30] = ord("0")  # a regular file
    first = bytearray(build(name.decode())[:512])
    first[148:156] = b" " * 8
    name[148 - 30 : 156 - 30] = f"{sum(first):07o} ".encode()
    return build(name.decode())


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
