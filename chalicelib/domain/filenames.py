"""Distribution filenames: which are accepted, and whether they belong to a release."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from packaging.tags import Tag
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

MAX_FILENAME_LENGTH = 255

# PyPI's allow-list of platform tags, as patterns (warehouse/utils/wheel.py).
_PLATFORM_PATTERNS = [
    re.compile(p)
    for p in (
        r"^any$",
        r"^win32$",
        r"^win_amd64$",
        r"^win_arm64$",
        r"^win_ia64$",
        r"^linux_(x86_64|i686|aarch64|armv7l|ppc64le|s390x|riscv64|loongarch64)$",
        r"^manylinux1_(x86_64|i686)$",
        r"^manylinux2010_(x86_64|i686)$",
        r"^manylinux2014_(x86_64|i686|aarch64|armv7l|ppc64|ppc64le|s390x)$",
        r"^manylinux_\d+_\d+_(x86_64|i686|aarch64|armv7l|ppc64|ppc64le|s390x|riscv64|loongarch64)$",
        r"^musllinux_\d+_\d+_(x86_64|i686|aarch64|armv7l|ppc64le|s390x|riscv64|loongarch64)$",
        r"^macosx_\d+_\d+_(x86_64|arm64|universal2|intel|fat|fat3|fat64|universal|i386|ppc|ppc64)$",
        r"^ios_\d+_\d+_(arm64|x86_64)_(iphoneos|iphonesimulator)$",
        r"^android_\d+_(arm64_v8a|armeabi_v7a|x86_64|x86)$",
        r"^pyemscripten_\d+_\d+_wasm32$",
        r"^emscripten_\d+_\d+_\d+_wasm32$",
    )
]


class FilenameError(ValueError):
    """A filename that wharf does not accept, with the reason for a person."""


class DistKind(StrEnum):
    WHEEL = "bdist_wheel"
    SDIST = "sdist"


@dataclass(frozen=True)
class DistributionFilename:
    filename: str
    kind: DistKind
    project: str  # canonical
    version: Version
    tags: frozenset[Tag] = frozenset()

    @property
    def stem(self) -> str:
        return self.filename.removesuffix(".tar.gz").removesuffix(".whl")


def _underscored(name: str) -> str:
    return canonicalize_name(name).replace("-", "_")


def parse_filename(filename: str) -> DistributionFilename:
    """Parse a new upload's filename; raises ``FilenameError`` saying what is wrong.

    Only wheels and ``.tar.gz`` sdists are accepted (PEP 527, PEP 625), with the
    name part spelled as the normalised name with underscores.
    """
    if not filename or len(filename) > MAX_FILENAME_LENGTH:
        raise FilenameError(f"A filename must have 1 to {MAX_FILENAME_LENGTH} characters.")
    if any(ch in filename for ch in "/\\") or any(not ch.isprintable() for ch in filename):
        raise FilenameError("A filename must not contain '/', '\\' or control characters.")
    if filename.endswith(".whl"):
        return _parse_wheel(filename)
    if filename.endswith(".tar.gz"):
        return _parse_sdist(filename)
    raise FilenameError(
        f"{filename!r} is neither a wheel (.whl) nor a source distribution (.tar.gz); "
        "other formats (.zip, .egg, .exe, .tar.bz2...) are not accepted (PEP 527, PEP 625)."
    )


def _parse_wheel(filename: str) -> DistributionFilename:
    try:
        name, version, _build, tags = parse_wheel_filename(filename)
    except (InvalidWheelFilename, InvalidVersion) as error:
        raise FilenameError(f"{filename!r} is not a valid wheel filename: {error}") from None
    raw_name = filename.split("-", 1)[0]
    if raw_name != _underscored(name):
        raise FilenameError(
            f"The wheel's name part {raw_name!r} must be the normalised name "
            f"{_underscored(name)!r}."
        )
    raw_version = filename.split("-")[1]
    if raw_version != str(version):
        raise FilenameError(
            f"The wheel's version part {raw_version!r} must be the normalised version "
            f"{str(version)!r}."
        )
    unknown = sorted(
        {t.platform for t in tags if not any(p.match(t.platform) for p in _PLATFORM_PATTERNS)}
    )
    if unknown:
        raise FilenameError(f"Unknown platform tag(s) in {filename!r}: {', '.join(unknown)}.")
    return DistributionFilename(filename, DistKind.WHEEL, name, version, frozenset(tags))


def _parse_sdist(filename: str) -> DistributionFilename:
    try:
        name, version = parse_sdist_filename(filename)
    except (InvalidSdistFilename, InvalidVersion) as error:
        raise FilenameError(f"{filename!r} is not a valid sdist filename: {error}") from None
    expected = f"{_underscored(name)}-{version}.tar.gz"
    if filename != expected:
        raise FilenameError(
            f"An sdist must be named {{normalised_name}}-{{normalised_version}}.tar.gz: "
            f"expected {expected!r}."
        )
    return DistributionFilename(filename, DistKind.SDIST, name, version)


def check_belongs(dist: DistributionFilename, project: str, version: Version) -> None:
    """Raise ``FilenameError`` unless the file is of this project (canonical) and version."""
    if dist.project != project:
        raise FilenameError(f"{dist.filename!r} is for project {dist.project!r}, not {project!r}.")
    if dist.version != version:
        raise FilenameError(f"{dist.filename!r} is for version {dist.version}, not {version}.")
