"""A gzip-compressed tar read in one pass with every byte counted and every buffer capped.

Why not ``tarfile``: it reads a PAX extended header or a GNU long name whole into
memory before anyone can look at its size, then parses it with regular expressions,
so a 127 KiB sdist whose PAX header holds 128 MiB of zeros costs hundreds of MiB
(and the bomb check, which sees only member sizes, passes it). It also reads a
gzip file's later members and ignores what follows the archive, which other tools
read differently. Nothing in ``tarfile`` lets a caller refuse a header before it is
buffered, so this module parses the headers itself: ustar, PAX (``x``, ``g``) and GNU
long names (``L``, ``K``), with the same name and size rules as ``tarfile`` (which is
what pip and setuptools unpack sdists with), and refuses whatever the two could read
differently. ``zlib`` does the decompression, with ``max_length`` so no step produces
more than asked for.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, BinaryIO

from .report import Abort

if TYPE_CHECKING:
    from .budget import Budget
    from .limits import Limits

BLOCK = 512
_READ = 64 * 1024
_ZERO_BLOCK = bytes(BLOCK)
_POSIX_MAGIC = b"ustar\x0000"
_GNU_MAGIC = b"ustar  \x00"

REGULAR = frozenset({b"0", b"\x00"})
DIRECTORY = b"5"
SYMLINK = b"2"
HARDLINK = b"1"
DEVICE_TYPES = {b"3": "a character device", b"4": "a block device", b"6": "a FIFO"}
_PAX, _PAX_GLOBAL, _GNU_LONGNAME, _GNU_LONGLINK = b"x", b"g", b"L", b"K"
_EXTENSIONS = {_PAX, _PAX_GLOBAL, _GNU_LONGNAME, _GNU_LONGLINK}
# PAX keys that change where or what a member is; anything else is bookkeeping.
_PAX_MEANINGFUL = {"path", "linkpath", "size"}


class GzipReader:
    """Decompresses exactly one gzip member, in bounded steps, counting what it produces."""

    def __init__(self, raw: BinaryIO, budget: Budget) -> None:
        self._raw = raw
        self._budget = budget
        # wbits 16+15: a gzip wrapper (zlib checks the header, the CRC and the length).
        self._zlib = zlib.decompressobj(16 + zlib.MAX_WBITS)
        self._out = bytearray()
        self._started = False

    def read(self, size: int) -> bytes:
        """Exactly ``size`` bytes, or fewer only at the end of the stream."""
        while len(self._out) < size and not self._zlib.eof:
            self._produce(size - len(self._out))
        taken = bytes(self._out[:size])
        del self._out[:size]
        return taken

    def read_exact(self, size: int, what: str) -> bytes:
        data = self.read(size)
        if len(data) != size:
            raise Abort("tar-format", f"the tar archive ends inside {what}")
        return data

    def skip(self, size: int, what: str) -> None:
        """Decompress and drop ``size`` bytes (still counted), never holding more than a chunk."""
        while size:
            step = min(size, 1024 * 1024)
            self.read_exact(step, what)
            size -= step

    def _produce(self, wanted: int) -> None:
        data = self._zlib.unconsumed_tail
        if not data:
            data = self._raw.read(_READ)
            if not data:
                if not self._started:
                    raise Abort("gzip-format", "the file is empty")
                raise Abort("gzip-format", "the gzip stream is truncated")
            if not self._started and not data.startswith(b"\x1f\x8b"):
                raise Abort("gzip-format", "the sdist is not gzip-compressed")
            self._started = True
        try:
            # max_length bounds what one call may produce; the rest waits in unconsumed_tail.
            chunk = self._zlib.decompress(data, max(wanted, 64 * 1024))
        except zlib.error as error:
            raise Abort("gzip-format", f"the gzip stream is corrupt ({error})") from None
        self._budget.expand(len(chunk))
        self._out += chunk

    def finish(self) -> None:
        """Read to the end: only zero padding may remain, then exactly the end of the file."""
        while True:
            chunk = self.read(1024 * 1024)
            if not chunk:
                break
            if chunk.count(0) != len(chunk):
                raise Abort(
                    "tar-trailing-data",
                    "the sdist has data after the end of its tar archive",
                )
        after = self._zlib.unused_data or self._raw.read(1)
        if after:
            what = "a second gzip member" if after.startswith(b"\x1f") else "data"
            raise Abort(
                "gzip-trailing-data",
                f"the sdist has {what} after its gzip stream; tools that read it on "
                "could unpack something else",
            )


@dataclass(frozen=True)
class TarMember:
    name: str
    type: bytes
    size: int
    linkname: str

    @property
    def isreg(self) -> bool:
        return self.type in REGULAR

    @property
    def isdir(self) -> bool:
        return self.type == DIRECTORY

    @property
    def issym(self) -> bool:
        return self.type == SYMLINK

    @property
    def islnk(self) -> bool:
        return self.type == HARDLINK


def _nts(field: bytes) -> bytes:
    return field.split(b"\x00", 1)[0]


def _number(field: bytes, what: str) -> int:
    """tarfile's rule: base-256 when the high bit is set, else octal digits (spaces, NULs)."""
    if field[:1] == b"\x80":
        return int.from_bytes(field[1:], "big")
    if field[:1] == b"\xff":
        raise Abort("tar-format", f"a tar header has a negative {what}")
    text = _nts(field).strip(b" ")
    if not text:
        return 0
    if any(ch not in b"01234567" for ch in text):
        raise Abort("tar-format", f"a tar header has an invalid {what} field")
    return int(text, 8)


def _text(raw: bytes, what: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise Abort("member-path", f"a tar {what} is not valid UTF-8: {raw[:80]!r}") from None


def tar_checksum_ok(block: bytes) -> bool:
    try:
        stored = _number(block[148:156], "checksum")
    except Abort:
        return False
    unsigned = sum(block[:148]) + 8 * 32 + sum(block[156:])
    # Some old tars summed signed chars; tarfile accepts both, so must this.
    signed = unsigned - 256 * sum(1 for b in block[:148] + block[156:] if b > 127)
    return stored in (unsigned, signed)


def _pax_records(payload: bytes) -> dict[str, str]:
    """Strict PAX records, ``"%d %s=%s\\n"``, covering the payload exactly."""
    records: dict[str, str] = {}
    pos = 0
    while pos < len(payload):
        space = payload.find(b" ", pos, pos + 20)
        digits = payload[pos:space] if space > pos else b""
        if not digits.isdigit():
            raise Abort("tar-format", "a PAX header record has no valid length")
        length = int(digits)
        record = payload[pos : pos + length]
        if length <= space - pos + 1 or len(record) != length or not record.endswith(b"\n"):
            raise Abort("tar-format", "a PAX header record is malformed")
        key, sep, value = record[space - pos + 1 : -1].partition(b"=")
        if not sep or not key:
            raise Abort("tar-format", "a PAX header record has no keyword")
        name = _text(key, "PAX keyword")
        if name in records and name in _PAX_MEANINGFUL:
            raise Abort("tar-format", f"a PAX header sets {name!r} twice")
        records[name] = _text(value, f"PAX {name!r} value")
        pos += length
    if records.get("hdrcharset", "").upper() == "BINARY":
        raise Abort("member-path", "a PAX header declares binary (non-UTF-8) names")
    if any(key.startswith("GNU.sparse.") for key in records):
        raise Abort("member-type", "the sdist has a sparse member (GNU.sparse PAX records)")
    return records


class TarReader:
    """Members of a tar stream, in order. Data of a member is skipped unless read at once."""

    def __init__(self, gz: GzipReader, limits: Limits) -> None:
        self._gz = gz
        self._limits = limits
        self._pending = 0  # bytes of the current member's data and padding not yet consumed
        self._current: TarMember | None = None

    def members(self) -> Iterator[TarMember]:
        while True:
            self._skip_pending()
            member = self._next()
            if member is None:
                return
            self._current = member
            self._pending = _padded(member.size)
            yield member

    def read_data(self, member: TarMember, cap: int) -> bytes:
        """The data of ``member``, which ``members()`` just yielded (at most ``cap`` bytes)."""
        if member is not self._current or self._pending != _padded(member.size):
            raise RuntimeError("read_data must follow the member it reads")
        if member.size > cap:
            raise Abort("archive-memory", f"{member.name} is {member.size} bytes; at most {cap}")
        data = self._gz.read_exact(member.size, member.name)
        self._gz.skip(_padded(member.size) - member.size, member.name)
        self._pending = 0
        return data

    def finish(self) -> None:
        self._skip_pending()
        self._gz.finish()

    def _skip_pending(self) -> None:
        if self._pending:
            assert self._current is not None
            self._gz.skip(self._pending, self._current.name)
            self._pending = 0

    def _next(self) -> TarMember | None:
        pax: dict[str, str] = {}
        longname: bytes | None = None
        longlink: bytes | None = None
        extended = False
        while True:
            block = self._gz.read(BLOCK)
            if not block or block == _ZERO_BLOCK:
                if extended:
                    raise Abort("tar-format", "the tar archive ends after an extended header")
                return None  # the end-of-archive marker; finish() checks what follows
            if len(block) != BLOCK:
                raise Abort("tar-format", "the tar archive ends inside a header")
            if not tar_checksum_ok(block):
                raise Abort("tar-format", "a tar header has a bad checksum (is it a tar?)")
            kind = block[156:157]
            size = _number(block[124:136], "size")
            if kind in _EXTENSIONS:
                payload = self._extension(kind, size)
                if kind == _PAX:
                    if pax:
                        raise Abort("tar-format", "two PAX headers describe one member")
                    pax = _pax_records(payload)
                elif kind == _PAX_GLOBAL:
                    records = _pax_records(payload)
                    if _PAX_MEANINGFUL & records.keys():
                        raise Abort(
                            "tar-format",
                            "a global PAX header sets "
                            + ", ".join(sorted(_PAX_MEANINGFUL & records.keys()))
                            + " for every member that follows",
                        )
                    continue  # comments (git archive), times, owners: nothing to check
                elif kind == _GNU_LONGNAME:
                    if longname is not None:
                        raise Abort("tar-format", "two GNU long names describe one member")
                    longname = _nts(payload)
                else:
                    if longlink is not None:
                        raise Abort("tar-format", "two GNU long link names describe one member")
                    longlink = _nts(payload)
                extended = True
                continue
            return self._member(block, kind, size, pax, longname, longlink)

    def _extension(self, kind: bytes, size: int) -> bytes:
        cap = self._limits.max_tar_header_bytes
        if size > cap:
            label = "PAX header" if kind in (_PAX, _PAX_GLOBAL) else "GNU long name"
            raise Abort(
                "tar-header-size",
                f"a {label} of {size} bytes; at most {cap} are allowed",
            )
        payload = self._gz.read_exact(size, "an extended header")
        self._gz.skip(_padded(size) - size, "an extended header")
        return payload

    def _member(
        self,
        block: bytes,
        kind: bytes,
        size: int,
        pax: dict[str, str],
        longname: bytes | None,
        longlink: bytes | None,
    ) -> TarMember:
        magic = block[257:265]
        prefix = _nts(block[345:500])
        if prefix and magic[:6] != _POSIX_MAGIC[:6]:
            # tarfile joins this field onto the name for any format; GNU tar reads it as
            # times. Refuse rather than guess which reading a tool will make.
            raise Abort("tar-format", "a non-POSIX tar header has data in its prefix field")
        if magic == _GNU_MAGIC and prefix:
            raise Abort("tar-format", "a GNU tar header has data in its prefix field")
        if "path" in pax and longname is not None:
            raise Abort("tar-format", "a member has both a PAX path and a GNU long name")
        if "linkpath" in pax and longlink is not None:
            raise Abort("tar-format", "a member has both a PAX linkpath and a GNU long link")
        if "path" in pax:
            name = pax["path"]
        elif longname is not None:
            name = _text(longname, "name")
        else:
            short = _text(_nts(block[0:100]), "name")
            name = f"{_text(prefix, 'name prefix')}/{short}" if prefix else short
        if "linkpath" in pax:
            linkname = pax["linkpath"]
        elif longlink is not None:
            linkname = _text(longlink, "link name")
        else:
            linkname = _text(_nts(block[157:257]), "link name")
        if "size" in pax:
            if not pax["size"].isdigit():
                raise Abort("tar-format", f"{name!r} has an invalid PAX size")
            size = int(pax["size"])
        # Old V7 tars mark a directory as a regular file whose name ends in '/'.
        if kind == b"\x00" and name.endswith("/"):
            kind = DIRECTORY
        if kind == b"S":
            raise Abort("member-type", f"member {name!r} is a sparse file")
        if kind not in REGULAR and size:
            # tarfile skips no data for these, other tools do: hidden bytes either way.
            raise Abort("tar-format", f"member {name!r} is not a file but carries {size} bytes")
        return TarMember(name=name, type=kind, size=size, linkname=linkname)


def _padded(size: int) -> int:
    return (size + BLOCK - 1) // BLOCK * BLOCK
