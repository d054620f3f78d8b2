"""The checked-in list of real releases (`releases.toml`): groups, expected refusals, installs.

Everything here is pure: parsing and checking the list, and choosing a release's files
from the names the registry lists.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

DEFAULT_LIST = Path(__file__).with_name("releases.toml")
DOORS = ("upload2", "twine")
ALL_FILES = "all"


class CatalogError(ValueError):
    """The list is malformed; the message names the entry."""


@dataclass(frozen=True)
class Release:
    group: str
    project: str
    version: str
    files: tuple[str, ...] | None  # None: every file the registry lists for the version

    @property
    def key(self) -> str:
        return f"{self.project}=={self.version}"


@dataclass(frozen=True)
class Group:
    name: str
    why: str
    releases: tuple[Release, ...]


@dataclass(frozen=True)
class Expected:
    """A refusal the list accepts, with the reason it is justified."""

    filename: str
    doors: tuple[str, ...]
    why: str


@dataclass(frozen=True)
class Install:
    name: str
    requirements: tuple[str, ...]
    args: tuple[str, ...] = ()
    check: str | None = None
    tools: tuple[str, ...] = ("pip", "uv")
    with_: tuple[str, ...] = ()  # projects hosted beside the requirements (dependencies)


@dataclass(frozen=True)
class Catalog:
    groups: tuple[Group, ...]
    expected: tuple[Expected, ...] = ()
    installs: tuple[Install, ...] = ()
    releases: tuple[Release, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "releases", tuple(r for g in self.groups for r in g.releases))

    def expected_refusal(self, filename: str, door: str) -> Expected | None:
        return next((e for e in self.expected if e.filename == filename and door in e.doors), None)

    def only(self, groups: list[str]) -> Catalog:
        """The catalog restricted to ``groups`` (by name); unknown names raise."""
        unknown = sorted(set(groups) - {g.name for g in self.groups})
        if unknown:
            raise CatalogError(f"no such group: {', '.join(unknown)}")
        kept = tuple(g for g in self.groups if g.name in groups)
        return Catalog(kept, self.expected, self.installs)


def _strings(value: object, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
        raise CatalogError(f"{where}: expected a non-empty list of non-empty strings")
    return tuple(value)


def _text(entry: dict, key: str, where: str) -> str:
    value = entry.get(key)
    if not isinstance(value, str) or not value.strip():
        raise CatalogError(f"{where}: '{key}' must be a non-empty string")
    return value.strip()


def file_version(filename: str) -> tuple[str, Version] | None:
    """A distribution filename's canonical project and version, or None if unparseable."""
    try:
        if filename.endswith(".whl"):
            name, version, _, _ = parse_wheel_filename(filename)
            return str(name), version
        for suffix in (".tar.gz", ".zip"):
            if filename.endswith(suffix):
                name, version = parse_sdist_filename(filename.removesuffix(suffix) + ".tar.gz")
                return str(name), version
    except (InvalidWheelFilename, InvalidSdistFilename, InvalidVersion):
        return None
    return None


def _release(entry: object, group: str, index: int) -> Release:
    where = f"group {group!r}, release {index + 1}"
    if not isinstance(entry, dict):
        raise CatalogError(f"{where}: expected a table")
    unknown = sorted(set(entry) - {"project", "version", "files"})
    if unknown:
        raise CatalogError(f"{where}: unknown keys {', '.join(unknown)}")
    project = _text(entry, "project", where)
    version = _text(entry, "version", where)
    where = f"{where} ({project} {version})"
    try:
        Version(version)
    except InvalidVersion:
        raise CatalogError(f"{where}: {version!r} is not a PEP 440 version") from None
    files_value = entry.get("files")
    if files_value == ALL_FILES:
        return Release(group, project, version, None)
    files = _strings(files_value, f"{where}: 'files'")
    for filename in files:
        parsed = file_version(filename)
        # Names the packaging parser cannot read (pre-PEP 440 versions) are allowed; those
        # it reads must belong to this release, so that a typo cannot slip in unnoticed.
        if parsed and (parsed[0] != canonicalize_name(project) or parsed[1] != Version(version)):
            raise CatalogError(f"{where}: {filename!r} is not a file of this release")
    if len(set(files)) != len(files):
        raise CatalogError(f"{where}: a file is listed twice")
    return Release(group, project, version, files)


def parse(text: str) -> Catalog:
    """Parse the TOML list; raises ``CatalogError`` naming the first bad entry."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise CatalogError(f"not valid TOML: {error}") from None
    groups = []
    for index, raw in enumerate(data.get("group", [])):
        where = f"group {index + 1}"
        name = _text(raw, "name", where)
        releases = raw.get("releases")
        if not isinstance(releases, list) or not releases:
            raise CatalogError(f"group {name!r}: 'releases' must be a non-empty list")
        groups.append(
            Group(
                name,
                _text(raw, "why", f"group {name!r}"),
                tuple(_release(r, name, i) for i, r in enumerate(releases)),
            )
        )
    if not groups:
        raise CatalogError("no [[group]] of releases")
    names = [g.name for g in groups]
    if len(set(names)) != len(names):
        raise CatalogError("two groups share a name")
    keys = [(canonicalize_name(r.project), Version(r.version)) for g in groups for r in g.releases]
    seen: set[tuple[str, Version]] = set()
    for key in keys:
        if key in seen:
            raise CatalogError(f"{key[0]} {key[1]} is listed twice")
        seen.add(key)
    expected = []
    for index, raw in enumerate(data.get("expected", [])):
        where = f"expected refusal {index + 1}"
        doors = _strings(raw.get("doors", list(DOORS)), f"{where}: 'doors'")
        if set(doors) - set(DOORS):
            raise CatalogError(f"{where}: doors are {', '.join(DOORS)}")
        expected.append(Expected(_text(raw, "filename", where), doors, _text(raw, "why", where)))
    installs = []
    for index, raw in enumerate(data.get("install", [])):
        where = f"install {index + 1}"
        tools = _strings(raw.get("tools", ["pip", "uv"]), f"{where}: 'tools'")
        if set(tools) - {"pip", "uv"}:
            raise CatalogError(f"{where}: tools are pip and uv")
        installs.append(
            Install(
                name=_text(raw, "name", where),
                requirements=_strings(raw.get("requirements"), f"{where}: 'requirements'"),
                args=_strings(raw["args"], f"{where}: 'args'") if "args" in raw else (),
                check=raw.get("check"),
                tools=tools,
                with_=_strings(raw["with"], f"{where}: 'with'") if "with" in raw else (),
            )
        )
    return Catalog(tuple(groups), tuple(expected), tuple(installs))


def load(path: Path = DEFAULT_LIST) -> Catalog:
    return parse(path.read_text(encoding="utf-8"))


def select_files(release: Release, available: list[str]) -> tuple[list[str], list[str]]:
    """The release's files among ``available`` (the registry's names), and those missing.

    With ``files = "all"``, every available wheel or sdist whose parsed name and version
    are the release's.
    """
    if release.files is not None:
        present = set(available)
        return [f for f in release.files if f in present], [
            f for f in release.files if f not in present
        ]
    wanted = (canonicalize_name(release.project), Version(release.version))
    chosen = sorted(f for f in available if file_version(f) == wanted)
    return chosen, [] if chosen else [f"{release.project}-{release.version} (no files)"]
