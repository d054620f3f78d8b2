"""Distribution filenames: which are accepted, what they mean, and when two are the same file.

wharf accepts every filename PyPI accepted when the file was uploaded: wheels and
sdists whose name part predates normalisation (``PyYAML-6.0.2-...whl``,
``python-dateutil-2.8.2.tar.gz``) and ``.zip`` sdists are mapped to their project by the
normalised name, with a warning notice. Formats PEP 527 retired (eggs, Windows
installers, ``.tar.bz2`` and other sdist archives) are refused: no current installer
uses them, and each would be another decompressor to harden.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

from packaging.utils import (
    InvalidName,
    InvalidWheelFilename,
    canonicalize_name,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from .inspection.rules import notice

if TYPE_CHECKING:
    from packaging.tags import Tag

MAX_FILENAME_LENGTH = 255
SDIST_EXTENSIONS = (".tar.gz", ".zip")

# PyPI's allow-list of platform tags, as patterns (warehouse/forklift/legacy.py).
_PLATFORM_PATTERNS = [
    re.compile(p)
    for p in (
        r"^any$",
        r"^win32$",
        r"^win_amd64$",
        r"^win_arm64$",
        r"^win_ia64$",
        r"^linux_(x86_64|i686|aarch64|armv6l|armv7l|ppc64le|s390x|riscv64|loongarch64)$",
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
    """A filename that wharf does not accept: a rule's ``code`` and the reason for a person."""

    def __init__(self, code: str, text: str) -> None:
        super().__init__(text)
        self.code = code
        self.text = text

    @property
    def notice(self) -> str:
        return notice(self.code, self.text)


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
    extension: str = ".whl"
    warnings: tuple[str, ...] = field(default=(), compare=False)  # notices, code first

    @property
    def stem(self) -> str:
        return self.filename.removesuffix(self.extension)

    @property
    def is_zip(self) -> bool:
        return self.extension in (".whl", ".zip")


def _underscored(name: str) -> str:
    return canonicalize_name(name).replace("-", "_")


def parse_filename(filename: str, project: str | None = None) -> DistributionFilename:
    """Parse an upload's filename; raises ``FilenameError`` saying what is wrong.

    ``project`` (canonical), when known, settles which hyphen ends the name in an old
    sdist filename whose version has one (``foo-1.0-1.tar.gz``).
    """
    if not filename or len(filename) > MAX_FILENAME_LENGTH:
        raise FilenameError(
            "filename-invalid", f"A filename must have 1 to {MAX_FILENAME_LENGTH} characters."
        )
    if any(ch in filename for ch in "/\\") or any(not ch.isprintable() for ch in filename):
        raise FilenameError(
            "filename-invalid", "A filename must not contain '/', '\\' or control characters."
        )
    if filename.endswith(".whl"):
        return _parse_wheel(filename)
    for extension in SDIST_EXTENSIONS:
        if filename.endswith(extension):
            return _parse_sdist(filename, extension, project)
    raise FilenameError(
        "filename-format",
        f"{filename!r} is neither a wheel (.whl) nor a source distribution (.tar.gz, .zip); "
        "eggs, installers and other archives (.egg, .exe, .msi, .tar.bz2...) are not "
        "accepted (PEP 527).",
    )


def _parse_wheel(filename: str) -> DistributionFilename:
    try:
        name, version, _build, tags = parse_wheel_filename(filename)
    except (InvalidWheelFilename, InvalidVersion) as error:
        raise FilenameError(
            "wheel-filename", f"{filename!r} is not a valid wheel filename: {error}"
        ) from None
    unknown = sorted(
        {t.platform for t in tags if not any(p.match(t.platform) for p in _PLATFORM_PATTERNS)}
    )
    if unknown:
        raise FilenameError(
            "wheel-platform-tag", f"Unknown platform tag(s) in {filename!r}: {', '.join(unknown)}."
        )
    warnings = []
    raw_name, raw_version = filename.split("-")[:2]
    if raw_name != _underscored(name):
        warnings.append(
            notice(
                "wheel-name-unnormalised",
                f"the wheel's name part {raw_name!r} is not the normalised {_underscored(name)!r} "
                "(accepted: PyPI took such names before 2024)",
            )
        )
    if raw_version != str(version):
        warnings.append(
            notice(
                "wheel-version-unnormalised",
                f"the wheel's version part {raw_version!r} is not the normalised {str(version)!r}",
            )
        )
    return DistributionFilename(
        filename, DistKind.WHEEL, name, version, frozenset(tags), ".whl", tuple(warnings)
    )


def _parse_sdist(filename: str, extension: str, project: str | None) -> DistributionFilename:
    stem = filename.removesuffix(extension)
    splits = []
    for at in range(len(stem) - 1, 0, -1):  # packaging's preference: the last hyphen first
        if stem[at] != "-":
            continue
        try:
            name = canonicalize_name(stem[:at], validate=True)
            version = Version(stem[at + 1 :])
        except (InvalidName, InvalidVersion):
            continue
        splits.append((name, version))
    if not splits:
        raise FilenameError(
            "sdist-filename",
            f"{filename!r} is not a valid sdist filename: it must be "
            f"{{name}}-{{version}}{extension} with a PEP 440 version.",
        )
    name, version = next((s for s in splits if s[0] == project), splits[0])
    warnings = []
    expected = f"{_underscored(name)}-{version}.tar.gz"
    if extension == ".zip":
        warnings.append(
            notice(
                "sdist-zip",
                "a .zip sdist (PyPI accepted them until PEP 625 was enforced; new sdists are "
                f"{expected!r})",
            )
        )
    elif filename != expected:
        warnings.append(
            notice(
                "sdist-name-pre-pep625",
                f"the sdist is named as before PEP 625; today it would be {expected!r}",
            )
        )
    return DistributionFilename(
        filename, DistKind.SDIST, name, version, frozenset(), extension, tuple(warnings)
    )


def check_belongs(dist: DistributionFilename, project: str, version: Version) -> None:
    """Raise ``FilenameError`` unless the file is of this project (canonical) and version."""
    if dist.project != project:
        raise FilenameError(
            "filename-project",
            f"{dist.filename!r} is for project {dist.project!r}, not {project!r}.",
        )
    if dist.version != version:
        raise FilenameError(
            "filename-version", f"{dist.filename!r} is for version {dist.version}, not {version}."
        )


def check_local_version(dist: DistributionFilename, *, allow_local: bool) -> None:
    """Local versions (``1.0+abc``) are for builds that never leave their machine (PyPI)."""
    if dist.version.local is not None and not allow_local:
        raise FilenameError(
            "local-version",
            f"{dist.filename!r} has a local version ({dist.version}); this index does not "
            "accept local versions.",
        )


def _reservation_version(version: Version) -> str:
    """One spelling per PEP 440-equal version: trailing zeros of the release dropped down to
    two parts (1, 1.0 and 1.0.0 all give 1.0), so the common spelling is its own key."""
    release = list(version.release)
    while len(release) > 2 and release[-1] == 0:
        release.pop()
    if len(release) == 1:
        release.append(0)
    text = ".".join(map(str, release))
    if version.epoch:
        text = f"{version.epoch}!{text}"
    if version.pre:
        text += f"{version.pre[0]}{version.pre[1]}"
    if version.post is not None:
        text += f".post{version.post}"
    if version.dev is not None:
        text += f".dev{version.dev}"
    if version.local:
        text += f"+{version.local}"
    return text


def reservation_name(filename: str) -> str:
    """The name a file is reserved under, forever: two files with the same reservation name
    are one file to an installer, so only the first may be published.

    Wheels: normalised name, PEP 440-equal version, the build and tags as written.
    sdists: normalised name, version and archive format: one sdist per format, because
    PyPI accepted a .tar.gz and a .zip of one release until it allowed one sdist per
    release (pip picks either; they are the same source). A filename that does not parse
    is its own reservation name.
    The result parses to itself (the adapters may apply this to a name twice).
    """
    try:
        dist = parse_filename(filename)
    except FilenameError:
        return filename
    name = _underscored(dist.project)
    version = _reservation_version(dist.version)
    if dist.kind is DistKind.SDIST:
        extension = next(e for e in SDIST_EXTENSIONS if filename.lower().endswith(e))
        return f"{name}-{version}{extension}"
    rest = filename.removesuffix(".whl").split("-")[2:]
    return "-".join([name, version, *rest]).lower() + ".whl"


def check_upload_filename(
    filename: str, *, project: str | None, version: Version | None, allow_local: bool
) -> DistributionFilename:
    """The request-time filename rules, the same for every door: parse the name, check it
    belongs to ``project`` and ``version`` (when the release is known) and refuse local
    versions unless allowed. Raises ``FilenameError``; warnings are on the result."""
    dist = parse_filename(filename, project)
    if project is not None and version is not None:
        check_belongs(dist, project, version)
    check_local_version(dist, allow_local=allow_local)
    return dist
