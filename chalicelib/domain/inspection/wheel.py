"""Wheels: a strict zip with exactly one matching .dist-info and a truthful RECORD."""

from __future__ import annotations

import base64
import csv
import email.parser
import hashlib
import io
import stat
import struct
import zipfile
from typing import BinaryIO

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from ..filenames import DistributionFilename
from .limits import CHUNK, Limits
from .metadata import check_metadata
from .paths import path_problem
from .report import Abort, Inspection

_EOCD = b"PK\x05\x06"
_EOCD_SIZE = 22
_LOCAL_HEADER = b"PK\x03\x04"
_UNSAFE_MODES = (stat.S_ISLNK, stat.S_ISCHR, stat.S_ISBLK, stat.S_ISFIFO, stat.S_ISSOCK)


def inspect_wheel(
    archive: BinaryIO, size: int, dist: DistributionFilename, limits: Limits
) -> Inspection:
    """Inspect a wheel read through a seekable file object of ``size`` bytes."""
    found = Inspection()
    try:
        _inspect(archive, size, dist, limits, found)
    except Abort as stop:
        found.problem(str(stop))
    return found


def _inspect(
    archive: BinaryIO, size: int, dist: DistributionFilename, limits: Limits, found: Inspection
) -> None:
    archive.seek(0)
    if archive.read(4) != _LOCAL_HEADER:
        raise Abort("the wheel is not a zip archive (it must start with a zip local header)")
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError) as error:
        raise Abort(f"the wheel is not a sound zip archive: {error}") from None
    _check_framing(archive, size, zf)
    infos = zf.infolist()
    if len(infos) > limits.max_members:
        raise Abort(f"the wheel has {len(infos)} members; at most {limits.max_members} are allowed")
    names = [info.filename for info in infos]
    if len(set(names)) != len(names):
        dupes = sorted({n for n in names if names.count(n) > 1})
        raise Abort(f"the wheel has duplicate members: {', '.join(dupes[:5])}")
    total = sum(info.file_size for info in infos)
    if total > limits.max_uncompressed_bytes:
        raise Abort(
            f"the wheel expands to {total} bytes; at most {limits.max_uncompressed_bytes} "
            "are allowed"
        )
    if total > limits.ratio_floor_bytes and total > limits.max_compression_ratio * max(size, 1):
        raise Abort(f"the wheel expands {total / max(size, 1):.0f}-fold; it looks like a zip bomb")
    for info in infos:
        _check_member(info, limits, found)
    if not found.ok:
        return
    dist_info = _dist_info_dir(names, dist)
    required = {f"{dist_info}/{n}" for n in ("METADATA", "WHEEL", "RECORD")}
    missing = sorted(required - set(names))
    if missing:
        raise Abort(f"the wheel lacks {', '.join(missing)}")

    wheel_file = _read_small(zf, f"{dist_info}/WHEEL", limits.max_metadata_bytes)
    _check_wheel_file(wheel_file, found)
    metadata = _read_small(zf, f"{dist_info}/METADATA", limits.max_metadata_bytes)
    check_metadata(
        metadata,
        source=f"{dist_info}/METADATA",
        project=dist.project,
        version=dist.version,
        limits=limits,
        found=found,
    )
    record = _read_small(zf, f"{dist_info}/RECORD", limits.max_record_bytes)
    _check_record(zf, infos, f"{dist_info}/RECORD", record, limits, found)


def _check_framing(archive: BinaryIO, size: int, zf: zipfile.ZipFile) -> None:
    """Refuse data hidden around the archive: prepended bytes, comments, trailing data."""
    if zf.comment:
        raise Abort("the wheel's zip archive has a comment; wheels must not")
    archive.seek(size - _EOCD_SIZE)
    tail = archive.read(_EOCD_SIZE)
    if not tail.startswith(_EOCD):
        raise Abort("the wheel has data after the end of its zip archive")
    cd_size, cd_offset = struct.unpack("<II", tail[12:20])
    if cd_offset != 0xFFFFFFFF and cd_offset + cd_size + _EOCD_SIZE != size:
        raise Abort("the wheel's zip directory is not where its end record says")
    offsets = sorted(info.header_offset for info in zf.infolist())
    if offsets and offsets[0] != 0:
        raise Abort("the wheel has data before its first zip member")


def _check_member(info: zipfile.ZipInfo, limits: Limits, found: Inspection) -> None:
    problem = path_problem(info.filename)
    if problem:
        found.problem(problem)
        return
    mode = info.external_attr >> 16
    if any(check(mode) for check in _UNSAFE_MODES):
        found.problem(f"member {info.filename!r} is a link or device file; wheels hold files only")
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        found.problem(
            f"member {info.filename!r} uses compression method {info.compress_type}; "
            "only stored and deflated are allowed"
        )
    if (
        info.file_size > limits.ratio_floor_bytes
        and info.file_size > limits.max_compression_ratio * max(info.compress_size, 1)
    ):
        found.problem(f"member {info.filename!r} expands like a zip bomb")


def _dist_info_dir(names: list[str], dist: DistributionFilename) -> str:
    tops = {n.split("/", 1)[0] for n in names if "/" in n}
    candidates = sorted(t for t in tops if t.endswith(".dist-info"))
    if len(candidates) != 1:
        raise Abort(
            f"a wheel needs exactly one top-level .dist-info directory; found {len(candidates)}"
            + (f" ({', '.join(candidates)})" if candidates else "")
        )
    directory = candidates[0]
    name, _, version = directory.removesuffix(".dist-info").rpartition("-")
    try:
        matches = canonicalize_name(name) == dist.project and Version(version) == dist.version
    except InvalidVersion:
        matches = False
    if not matches:
        raise Abort(f"{directory} does not match the filename's name and version")
    return directory


def _read_small(zf: zipfile.ZipFile, name: str, cap: int) -> bytes:
    info = zf.getinfo(name)
    if info.file_size > cap:
        raise Abort(f"{name} is {info.file_size} bytes; at most {cap} are allowed")
    try:
        return zf.read(name)
    except (zipfile.BadZipFile, OSError, EOFError) as error:
        raise Abort(f"{name} cannot be read: {error}") from None


def _check_wheel_file(raw: bytes, found: Inspection) -> None:
    headers = email.parser.BytesParser().parsebytes(raw, headersonly=True)
    version = headers.get("Wheel-Version")
    if not version:
        found.problem("WHEEL has no Wheel-Version")
    elif version.strip().split(".")[0] != "1":
        found.problem(f"Wheel-Version {version.strip()} is not 1.x")


def _record_entries(raw: bytes, found: Inspection, record_name: str) -> dict[str, str]:
    entries: dict[str, str] = {}
    try:
        rows = list(csv.reader(io.StringIO(raw.decode("utf-8"))))
    except (UnicodeDecodeError, csv.Error) as error:
        found.problem(f"{record_name} cannot be parsed: {error}")
        return entries
    for row in rows:
        if not row:
            continue
        entries[row[0]] = row[1] if len(row) > 1 else ""
    return entries


def _check_record(
    zf: zipfile.ZipFile,
    infos: list[zipfile.ZipInfo],
    record_name: str,
    raw: bytes,
    limits: Limits,
    found: Inspection,
) -> None:
    """Every member's bytes are read once: this is where CRCs and RECORD hashes are checked."""
    entries = _record_entries(raw, found, record_name)
    unsigned = {record_name, record_name + ".jws", record_name + ".p7s"}
    mismatched: list[str] = []
    unlisted: list[str] = []
    for info in infos:
        if info.is_dir():
            continue
        expected = entries.get(info.filename)
        algorithm, _, digest = (expected or "").partition("=")
        hasher = hashlib.new(algorithm) if algorithm in hashlib.algorithms_guaranteed else None
        try:
            with zf.open(info) as member:
                while chunk := member.read(CHUNK):
                    if hasher is not None:
                        hasher.update(chunk)
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as error:
            found.problem(f"member {info.filename!r} is corrupt: {error}")
            continue
        if info.filename in unsigned:
            continue
        if expected is None:
            unlisted.append(info.filename)
        elif hasher is None:
            mismatched.append(f"{info.filename} (no usable hash in RECORD)")
        else:
            actual = base64.urlsafe_b64encode(hasher.digest()).rstrip(b"=").decode()
            if actual != digest:
                mismatched.append(info.filename)
    listed_missing = sorted(set(entries) - {i.filename for i in infos} - unsigned)
    report = found.problem if limits.enforce_record else found.warnings.append
    if mismatched:
        report(f"RECORD hashes do not match: {', '.join(mismatched[:10])}")
    if unlisted:
        report(f"members missing from RECORD: {', '.join(unlisted[:10])}")
    if listed_missing:
        report(f"RECORD lists files the wheel lacks: {', '.join(listed_missing[:10])}")
