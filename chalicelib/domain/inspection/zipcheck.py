"""Zip archives (wheels and .zip sdists) read strictly and within the file's budget.

``zipfile`` reads the whole central directory into memory, sized by the end record, and
tolerates data before, between and after members. So the end records are checked here
first (the directory's size and entry count against the budget, its position against the
file's end), and after ``zipfile`` has parsed it every local header is walked in order:
the members must tile the file from byte 0 to the directory with nothing hidden in
between, each local header must agree with its directory entry, and directory entries
must hold no data (PyPI's rules, warehouse/utils/zipfiles.py, with the same intent).
"""

from __future__ import annotations

import stat
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, BinaryIO

from .limits import CHUNK, Limits
from .paths import path_problem
from .report import Abort, Inspection
from .tarstream import BLOCK, tar_checksum_ok

if TYPE_CHECKING:
    from .budget import Budget

_LOCAL = b"PK\x03\x04"
_CENTRAL = b"PK\x01\x02"
_EOCD = b"PK\x05\x06"
_EOCD64 = b"PK\x06\x06"
_EOCD64_LOCATOR = b"PK\x06\x07"
_DESCRIPTOR = b"PK\x07\x08"
_EOCD_SIZE, _LOCATOR_SIZE, _EOCD64_SIZE = 22, 20, 56
_ZIP64_EXTRA, _UNICODE_PATH_EXTRA = 0x0001, 0x7075
# What zipfile keeps per directory entry beyond its name and extra field.
_PER_ZIPINFO = 400
_UNSAFE_MODES = (stat.S_ISLNK, stat.S_ISCHR, stat.S_ISBLK, stat.S_ISFIFO, stat.S_ISSOCK)


def open_strict_zip(
    archive: BinaryIO, size: int, budget: Budget, limits: Limits, found: Inspection, *, what: str
) -> zipfile.ZipFile:
    """A ``ZipFile`` over ``archive`` once its framing has been proven unambiguous.

    Raises ``Abort`` for a file that is not a zip, is framed loosely, or would cost more
    than the budget to read; member-level problems are noted on ``found``.
    """
    archive.seek(0)
    head = archive.read(BLOCK)
    if not head.startswith(_LOCAL):
        raise Abort(
            "zip-format", f"the {what} is not a zip archive (it must start with a zip local header)"
        )
    if len(head) == BLOCK and tar_checksum_ok(head):
        raise Abort(
            "archive-polyglot",
            f"the {what} is also a valid tar archive; refusing an ambiguous file",
        )
    entries, cd_size, cd_offset = _end_records(archive, size, what)
    if entries > limits.max_members:
        raise Abort(
            "archive-members", f"the {what} has {entries} members; at most {limits.max_members}"
        )
    # zipfile holds the raw directory while it slices names and extra fields out of it.
    budget.hold(2 * cd_size + entries * _PER_ZIPINFO, "the zip central directory")
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as error:
        raise Abort("zip-format", f"the {what} is not a sound zip archive: {error}") from None
    infos = zf.infolist()
    if len(infos) != entries:
        raise Abort("zip-framing", "the zip end record miscounts the central directory")
    _check_directory(infos, found)
    _walk_local_headers(archive, infos, cd_offset, budget, found)
    total = sum(info.file_size for info in infos)
    budget.check_claim(total)
    for info in infos:
        if (
            info.file_size > limits.ratio_floor_bytes
            and info.file_size > limits.max_compression_ratio * max(info.compress_size, 1)
        ):
            found.note("archive-bomb", f"member {info.filename!r} expands like a zip bomb")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            found.note(
                "zip-compression",
                f"member {info.filename!r} uses compression method {info.compress_type}; "
                "only stored and deflated are allowed",
            )
    return zf


def _end_records(archive: BinaryIO, size: int, what: str) -> tuple[int, int, int]:
    """(entries, directory size, directory offset), with the directory ending where the
    end records begin and nothing after the end record."""
    if size < _EOCD_SIZE + len(_LOCAL):
        raise Abort("zip-format", f"the {what} is too short to be a zip archive")
    archive.seek(size - _EOCD_SIZE)
    eocd = archive.read(_EOCD_SIZE)
    if not eocd.startswith(_EOCD):
        raise Abort(
            "zip-framing",
            f"the {what} has a comment or data after the end of its zip archive",
        )
    disk, cd_disk, on_disk, entries, cd_size, cd_offset, comment = struct.unpack("<4xHHHHIIH", eocd)
    if comment:
        raise Abort("zip-framing", f"the {what}'s zip end record announces a comment")
    if disk or cd_disk or on_disk != entries:
        raise Abort("zip-format", f"the {what} is a multi-disk zip archive")
    directory_end = size - _EOCD_SIZE
    if entries == 0xFFFF or cd_size == 0xFFFFFFFF or cd_offset == 0xFFFFFFFF:
        locator_at = directory_end - _LOCATOR_SIZE
        if locator_at < 0:
            raise Abort("zip-format", "the zip64 end record locator is missing")
        archive.seek(locator_at)
        locator = archive.read(_LOCATOR_SIZE)
        if not locator.startswith(_EOCD64_LOCATOR):
            raise Abort("zip-format", "the zip64 end record locator is missing")
        (eocd64_at,) = struct.unpack("<8xQ4x", locator)
        if eocd64_at + _EOCD64_SIZE != locator_at:
            raise Abort("zip-framing", "the zip64 end record is not where its locator says")
        archive.seek(eocd64_at)
        record = archive.read(_EOCD64_SIZE)
        if not record.startswith(_EOCD64):
            raise Abort("zip-format", "the zip64 end record is missing")
        record_size, on_disk64, entries, cd_size, cd_offset = struct.unpack("<4xQ4x8xQQQQ", record)
        if record_size != _EOCD64_SIZE - 12 or on_disk64 != entries:
            raise Abort("zip-framing", "the zip64 end record carries extensible data")
        directory_end = eocd64_at
    if cd_offset + cd_size != directory_end:
        raise Abort(
            "zip-framing",
            "the zip central directory is not where its end record says "
            "(data hidden before the end record?)",
        )
    return entries, cd_size, cd_offset


def _check_directory(infos: list[zipfile.ZipInfo], found: Inspection) -> None:
    seen: set[str] = set()
    for info in infos:
        if info.filename in seen:
            raise Abort(
                "member-duplicate", f"the zip archive has duplicate members: {info.filename!r}"
            )
        seen.add(info.filename)
        if info.comment:
            raise Abort("zip-framing", f"member {info.filename!r} has a comment")
        if info.flag_bits & 0x1:
            raise Abort("zip-format", f"member {info.filename!r} is encrypted")
        if not info.flag_bits & 0x800 and not info.orig_filename.isascii():
            # zipfile reads such names as cp437, other tools as UTF-8: two names for one file.
            found.note(
                "member-path", f"member {info.filename!r} has a non-ASCII name not marked UTF-8"
            )
        _check_extra(info.extra, info.filename)


def _check_extra(extra: bytes, name: str) -> None:
    seen: set[int] = set()
    pos = 0
    while pos < len(extra):
        if pos + 4 > len(extra):
            raise Abort("zip-format", f"member {name!r} has a malformed extra field")
        kind, length = struct.unpack("<HH", extra[pos : pos + 4])
        body = extra[pos + 4 : pos + 4 + length]
        if len(body) != length:
            raise Abort("zip-format", f"member {name!r} has a malformed extra field")
        if kind in seen and kind in (_ZIP64_EXTRA, _UNICODE_PATH_EXTRA):
            raise Abort("zip-framing", f"member {name!r} repeats an extra field")
        seen.add(kind)
        if kind == _UNICODE_PATH_EXTRA:
            try:
                other = body[5:].decode("utf-8")
            except UnicodeDecodeError:
                other = None
            if other != name:
                raise Abort(
                    "zip-framing",
                    f"member {name!r} carries a second name in a Unicode path field",
                )
        pos += 4 + length


def _walk_local_headers(
    archive: BinaryIO,
    infos: list[zipfile.ZipInfo],
    cd_offset: int,
    budget: Budget,
    found: Inspection,
) -> None:
    """Every byte before the central directory belongs to exactly one member."""
    expected = 0
    for info in sorted(infos, key=lambda i: i.header_offset):
        if info.header_offset != expected:
            where = "before the first member" if expected == 0 else "between members"
            raise Abort("zip-framing", f"the zip archive has data {where} (at byte {expected})")
        archive.seek(info.header_offset)
        header = archive.read(30)
        if len(header) != 30 or not header.startswith(_LOCAL):
            raise Abort("zip-framing", f"member {info.filename!r} has no local header")
        flags, method, crc, csize, usize, name_len, extra_len = struct.unpack(
            "<6xHH4xIIIHH", header
        )
        raw_name = archive.read(name_len)
        extra = archive.read(extra_len)
        budget.expand(30 + name_len + extra_len)
        encoding = "utf-8" if info.flag_bits & 0x800 else "cp437"
        if raw_name != info.orig_filename.encode(encoding) or method != info.compress_type:
            raise Abort(
                "zip-framing",
                f"member {info.filename!r}: its local header and the central directory differ",
            )
        if (flags ^ info.flag_bits) & 0x809:
            raise Abort("zip-framing", f"member {info.filename!r}: header flags differ")
        _check_extra(extra, info.filename)
        csize, usize = _zip64_sizes(extra, csize, usize)
        data_start = info.header_offset + 30 + name_len + extra_len
        data_end = data_start + info.compress_size
        if info.is_dir() and (
            info.file_size or info.compress_size > (2 if method == zipfile.ZIP_DEFLATED else 0)
        ):
            raise Abort(
                "zip-framing", f"directory entry {info.filename!r} carries {info.file_size} bytes"
            )
        if flags & 0x08:
            expected = data_end + _check_descriptor(archive, info, data_end, found)
        else:
            if (crc, csize, usize) != (info.CRC, info.compress_size, info.file_size):
                raise Abort(
                    "zip-framing",
                    f"member {info.filename!r}: sizes or CRC differ between its local header "
                    "and the central directory",
                )
            expected = data_end
    if expected != cd_offset:
        raise Abort(
            "zip-framing",
            f"the zip archive has {cd_offset - expected} bytes hidden between its last member "
            "and the central directory",
        )


def _zip64_sizes(extra: bytes, csize: int, usize: int) -> tuple[int, int]:
    if csize != 0xFFFFFFFF and usize != 0xFFFFFFFF:
        return csize, usize
    pos = 0
    while pos + 4 <= len(extra):
        kind, length = struct.unpack("<HH", extra[pos : pos + 4])
        body = extra[pos + 4 : pos + 4 + length]
        if kind == _ZIP64_EXTRA:
            values = list(struct.unpack(f"<{len(body) // 8}Q", body[: len(body) // 8 * 8]))
            if usize == 0xFFFFFFFF and values:
                usize = values.pop(0)
            if csize == 0xFFFFFFFF and values:
                csize = values.pop(0)
            return csize, usize
        pos += 4 + length
    raise Abort("zip-format", "a zip64 member lacks its zip64 extra field")


def _check_descriptor(archive: BinaryIO, info: zipfile.ZipInfo, at: int, found: Inspection) -> int:
    """The data descriptor's length, once it is shown to agree with the central directory."""
    if info.compress_type != zipfile.ZIP_DEFLATED:
        # A stored member's end can only be found from the directory: a streaming reader
        # would have to search for the descriptor, and could stop somewhere else.
        raise Abort(
            "zip-framing", f"stored member {info.filename!r} is followed by a data descriptor"
        )
    archive.seek(at)
    raw = archive.read(24)
    body = raw[4:] if raw.startswith(_DESCRIPTOR) else raw
    skip = 4 if raw.startswith(_DESCRIPTOR) else 0
    wide = info.file_size >= 0xFFFFFFFF or info.compress_size >= 0xFFFFFFFF
    fmt, length = ("<IQQ", 20) if wide else ("<III", 12)
    if len(body) < length or struct.unpack(fmt, body[:length]) != (
        info.CRC,
        info.compress_size,
        info.file_size,
    ):
        raise Abort(
            "zip-framing",
            f"member {info.filename!r}: its data descriptor disagrees with the central directory",
        )
    found.note(
        "zip-data-descriptor",
        f"member {info.filename!r} has a data descriptor (it agrees with the central "
        "directory; PyPI has refused these since 2025)",
    )
    return skip + length


def member_kind(info: zipfile.ZipInfo, found: Inspection) -> str | None:
    """``"file"`` or ``"dir"``, or ``None`` after noting why the member is refused."""
    problem = path_problem(info.filename.rstrip("/") if info.is_dir() else info.filename)
    if problem:
        found.note("member-path", problem)
        return None
    mode = info.external_attr >> 16
    if any(check(mode) for check in _UNSAFE_MODES):
        found.note(
            "member-type", f"member {info.filename!r} is a link or device file; zips hold files"
        )
        return None
    return "dir" if info.is_dir() else "file"


def member_chunks(zf: zipfile.ZipFile, info: zipfile.ZipInfo, budget: Budget) -> Iterator[bytes]:
    """The member's bytes in chunks, counted; a CRC or stream error is ``zip-member-corrupt``."""
    try:
        with zf.open(info) as member:
            while chunk := member.read(CHUNK):
                budget.expand(len(chunk))
                yield chunk
    except (
        zipfile.BadZipFile,
        zlib.error,  # a deflate stream that does not decode
        OSError,
        EOFError,
        ValueError,
        NotImplementedError,
    ) as error:
        raise Abort("zip-member-corrupt", f"member {info.filename!r} is corrupt: {error}") from None


def read_member(zf: zipfile.ZipFile, name: str, cap: int, budget: Budget) -> bytes:
    """A small member whole (METADATA, WHEEL, RECORD...), at most ``cap`` bytes, kept."""
    info = zf.getinfo(name)
    if info.file_size > cap:
        raise Abort(
            "archive-memory", f"{name} is {info.file_size} bytes; at most {cap} are allowed"
        )
    budget.hold(info.file_size, name)
    return b"".join(member_chunks(zf, info, budget))


def read_members(
    zf: zipfile.ZipFile,
    budget: Budget,
    found: Inspection,
    on_member: Callable[[zipfile.ZipInfo, Iterator[bytes]], None] | None = None,
) -> None:
    """Read every member once, in file order (CRCs are checked as the data passes)."""
    for info in sorted(zf.infolist(), key=lambda i: i.header_offset):
        if info.is_dir():
            continue
        chunks = member_chunks(zf, info, budget)
        try:
            if on_member is None:
                for _ in chunks:
                    pass
            else:
                on_member(info, chunks)
        except Abort as stop:
            if stop.code != "zip-member-corrupt":
                raise
            found.note(stop.code, stop.text)
