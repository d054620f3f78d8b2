"""Wheels: a strict zip with exactly one matching .dist-info and a truthful RECORD."""

from __future__ import annotations

import base64
import configparser
import csv
import email.parser
import hashlib
import re
import zipfile
from collections.abc import Iterator
from typing import TYPE_CHECKING, BinaryIO

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from ..hashes import SECURE_ALGORITHMS
from .budget import Budget
from .metadata import check_metadata
from .report import Abort, Inspection
from .zipcheck import member_kind, open_strict_zip, read_member, read_members

if TYPE_CHECKING:
    from ..filenames import DistributionFilename
    from .limits import Limits

# The wheel spec asks for sha256 or stronger in RECORD; md5 and sha1 prove nothing.
RECORD_ALGORITHMS = SECURE_ALGORITHMS - {"sha224", "sha3_224"}
# Entry point names (packaging.python.org, entry points data model), as PyPI checks them.
_ENTRY_POINT_NAME = re.compile(r"[\w.-]+")


def inspect_wheel(
    archive: BinaryIO, size: int, dist: DistributionFilename, limits: Limits
) -> Inspection:
    """Inspect a wheel read through a seekable file object of ``size`` bytes."""
    found = Inspection()
    budget = Budget(compressed_size=size, limits=limits, what="wheel")
    try:
        _inspect(archive, size, dist, limits, budget, found)
    except Abort as stop:
        found.note(stop.code, stop.text)
    return found


def _inspect(
    archive: BinaryIO,
    size: int,
    dist: DistributionFilename,
    limits: Limits,
    budget: Budget,
    found: Inspection,
) -> None:
    zf = open_strict_zip(archive, size, budget, limits, found, what="wheel")
    infos = zf.infolist()
    for info in infos:
        member_kind(info, found)
    if not found.ok:
        return
    names = {info.filename for info in infos}
    dist_info = _dist_info_dir(names, dist)
    required = {f"{dist_info}/{n}" for n in ("METADATA", "WHEEL", "RECORD")}
    missing = sorted(required - names)
    if missing:
        raise Abort("wheel-layout", f"the wheel lacks {', '.join(missing)}")

    wheel_file = read_member(zf, f"{dist_info}/WHEEL", limits.max_metadata_bytes, budget)
    _check_wheel_file(wheel_file, found)
    metadata = read_member(zf, f"{dist_info}/METADATA", limits.max_metadata_bytes, budget)
    check_metadata(
        metadata,
        source=f"{dist_info}/METADATA",
        project=dist.project,
        version=dist.version,
        limits=limits,
        found=found,
        has_file=lambda path: path in names,
        license_dir=f"{dist_info}/licenses",
    )
    entry_points = f"{dist_info}/entry_points.txt"
    if entry_points in names:
        _check_entry_points(read_member(zf, entry_points, limits.max_metadata_bytes, budget), found)
    record = read_member(zf, f"{dist_info}/RECORD", limits.max_record_bytes, budget)
    _check_record(zf, f"{dist_info}/RECORD", record, limits, budget, found)


def _dist_info_dir(names: set[str], dist: DistributionFilename) -> str:
    tops = {n.split("/", 1)[0] for n in names if "/" in n}
    candidates = sorted(t for t in tops if t.endswith(".dist-info"))
    if len(candidates) != 1:
        raise Abort(
            "wheel-layout",
            f"a wheel needs exactly one top-level .dist-info directory; found {len(candidates)}"
            + (f" ({', '.join(candidates[:5])})" if candidates else ""),
        )
    directory = candidates[0]
    name, _, version = directory.removesuffix(".dist-info").rpartition("-")
    try:
        matches = canonicalize_name(name) == dist.project and Version(version) == dist.version
    except InvalidVersion:
        matches = False
    if not matches:
        raise Abort("wheel-layout", f"{directory} does not match the filename's name and version")
    return directory


def _check_wheel_file(raw: bytes, found: Inspection) -> None:
    headers = email.parser.BytesParser().parsebytes(raw, headersonly=True)
    version = headers.get("Wheel-Version")
    if not version:
        found.note("wheel-file", "WHEEL has no Wheel-Version")
    elif version.strip().split(".")[0] != "1":
        found.note("wheel-file", f"Wheel-Version {version.strip()} is not 1.x")


class _CaseSensitiveParser(configparser.ConfigParser):
    def optionxform(self, optionstr: str) -> str:
        return optionstr


def _check_entry_points(raw: bytes, found: Inspection) -> None:
    """Valid INI with '=' as the only delimiter; script names without path components."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        found.note("wheel-entry-points", "entry_points.txt is not UTF-8")
        return
    parser = _CaseSensitiveParser(delimiters=("=",), interpolation=None)
    try:
        parser.read_string(text)
    except configparser.Error as error:
        first_line = str(error).splitlines()[0][:200]
        found.note("wheel-entry-points", f"entry_points.txt is not valid INI: {first_line}")
        return
    for section in ("console_scripts", "gui_scripts"):
        if not parser.has_section(section):
            continue
        for name in parser[section]:
            if not _ENTRY_POINT_NAME.fullmatch(name):
                found.note(
                    "wheel-entry-points",
                    f"entry_points.txt: {name[:80]!r} in [{section}] is not a valid script name",
                )


def _record_entries(
    raw: bytes, record_name: str, budget: Budget, found: Inspection
) -> dict[str, str]:
    # The decoded text, its lines and the parsed rows live as long as the check: count
    # them first. (Lines, not io.StringIO, which would hold the text at 4 bytes a char.)
    budget.hold(3 * len(raw), record_name)
    entries: dict[str, str] = {}
    try:
        rows = csv.reader(raw.decode("utf-8").splitlines())
        for row in rows:
            if not row:
                continue
            entries[row[0].replace("\\", "/")] = row[1] if len(row) > 1 else ""
    except (UnicodeDecodeError, csv.Error) as error:
        found.note("wheel-record", f"{record_name} cannot be parsed: {error}")
    return entries


def _check_record(
    zf: zipfile.ZipFile,
    record_name: str,
    raw: bytes,
    limits: Limits,
    budget: Budget,
    found: Inspection,
) -> None:
    """Every member's bytes are read once: this is where CRCs and RECORD hashes are checked."""
    entries = _record_entries(raw, record_name, budget, found)
    unsigned = {record_name, record_name + ".jws", record_name + ".p7s"}
    mismatched: list[str] = []
    unlisted: list[str] = []
    weak: list[str] = []

    def check(info: zipfile.ZipInfo, chunks: Iterator[bytes]) -> None:
        expected = entries.get(info.filename)
        algorithm, _, digest = (expected or "").partition("=")
        hasher = hashlib.new(algorithm) if algorithm in RECORD_ALGORITHMS else None
        for chunk in chunks:
            if hasher is not None:
                hasher.update(chunk)
        if info.filename in unsigned:
            return
        if expected is None:
            unlisted.append(info.filename)
        elif not algorithm:
            mismatched.append(f"{info.filename} (no hash)")
        elif hasher is None:
            weak.append(f"{info.filename} ({algorithm[:20]})")
        else:
            actual = base64.urlsafe_b64encode(hasher.digest()).rstrip(b"=").decode()
            if actual != digest:
                mismatched.append(info.filename)

    read_members(zf, budget, found, check)
    present = {i.filename for i in zf.infolist() if not i.is_dir()}
    listed_missing = sorted(set(entries) - present - unsigned)
    if weak:
        found.note(
            "wheel-record-hash",
            "RECORD must hash every file with sha256 or stronger; it does not for: "
            + ", ".join(weak[:10]),
        )
    refuse = limits.enforce_record
    if mismatched:
        found.note(
            "wheel-record",
            f"RECORD hashes do not match: {', '.join(mismatched[:10])}",
            refuse=refuse,
        )
    if unlisted:
        found.note(
            "wheel-record",
            f"members missing from RECORD: {', '.join(unlisted[:10])}",
            refuse=refuse,
        )
    if listed_missing:
        found.note(
            "wheel-record",
            f"RECORD lists files the wheel lacks: {', '.join(listed_missing[:10])}",
            refuse=refuse,
        )
