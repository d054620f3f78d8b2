"""sdists: a gzip tar with one top directory `{name}-{version}/` holding PKG-INFO."""

from __future__ import annotations

import gzip
import tarfile
import zlib
from typing import BinaryIO

from ..filenames import DistributionFilename
from .limits import Limits
from .metadata import check_metadata
from .paths import link_escapes, path_problem
from .report import Abort, Inspection


def inspect_sdist(
    stream: BinaryIO, size: int, dist: DistributionFilename, limits: Limits
) -> Inspection:
    """Inspect an sdist in one sequential pass over ``stream`` (``size`` bytes compressed)."""
    found = Inspection()
    try:
        _inspect(stream, size, dist, limits, found)
    except Abort as stop:
        found.problem(str(stop))
    return found


def _inspect(
    stream: BinaryIO, size: int, dist: DistributionFilename, limits: Limits, found: Inspection
) -> None:
    root = dist.stem
    tops: set[str] = set()
    members = 0
    total = 0
    pkg_info: bytes | None = None
    try:
        with tarfile.open(fileobj=stream, mode="r|gz") as tar:
            for member in tar:
                members += 1
                if members > limits.max_members:
                    raise Abort(f"the sdist has over {limits.max_members} members")
                total += member.size
                if total > limits.max_uncompressed_bytes:
                    raise Abort(f"the sdist expands past {limits.max_uncompressed_bytes} bytes")
                if total > limits.ratio_floor_bytes and total > limits.max_compression_ratio * max(
                    size, 1
                ):
                    raise Abort("the sdist expands like a decompression bomb")
                name = member.name.removeprefix("./")
                problem = path_problem(name)
                if problem:
                    found.problem(problem)
                    continue
                tops.add(name.split("/", 1)[0])
                _check_type(member, name, root, found)
                if name == f"{root}/PKG-INFO" and member.isreg():
                    if member.size > limits.max_metadata_bytes:
                        raise Abort(
                            f"PKG-INFO is {member.size} bytes; at most "
                            f"{limits.max_metadata_bytes} are allowed"
                        )
                    handle = tar.extractfile(member)
                    pkg_info = handle.read() if handle else None
    except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile, OSError) as error:
        raise Abort(f"the sdist is not a sound gzip-compressed tar archive: {error}") from None
    if members == 0:
        raise Abort("the sdist is an empty archive")
    if tops != {root}:
        others = sorted(tops - {root})
        found.problem(
            f"an sdist must hold a single top-level directory {root!r}"
            + (f"; it also has {', '.join(others[:5])}" if others else "")
        )
    if pkg_info is None:
        found.problem(f"the sdist lacks {root}/PKG-INFO")
        return
    check_metadata(
        pkg_info,
        source=f"{root}/PKG-INFO",
        project=dist.project,
        version=dist.version,
        limits=limits,
        found=found,
    )


def _check_type(member: tarfile.TarInfo, name: str, root: str, found: Inspection) -> None:
    if member.isreg() or member.isdir():
        if member.sparse is not None:
            found.problem(f"member {name!r} is a sparse file")
        return
    if member.issym() or member.islnk():
        escapes = link_escapes(name, member.linkname, root=root, relative_to_member=member.issym())
        if escapes:
            found.problem(f"link {name!r} points outside the sdist ({member.linkname!r})")
        return
    found.problem(f"member {name!r} is a device, FIFO or other special file")
