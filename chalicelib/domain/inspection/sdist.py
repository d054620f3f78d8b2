"""sdists: one top directory `{name}-{version}/` holding PKG-INFO, as a gzip tar or a zip."""

from __future__ import annotations

from typing import TYPE_CHECKING, BinaryIO

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from .budget import Budget
from .links import Tree
from .metadata import check_metadata
from .paths import path_problem
from .report import Abort, Inspection
from .tarstream import DEVICE_TYPES, GzipReader, TarReader
from .zipcheck import member_kind, open_strict_zip, read_member, read_members

if TYPE_CHECKING:
    from ..filenames import DistributionFilename
    from .limits import Limits


def inspect_sdist(
    stream: BinaryIO, size: int, dist: DistributionFilename, limits: Limits
) -> Inspection:
    """Inspect a .tar.gz sdist in one sequential pass over ``stream`` (``size`` bytes)."""
    found = Inspection()
    budget = Budget(compressed_size=size, limits=limits, what="sdist")
    layout = _Layout(dist, budget)
    try:
        reader = TarReader(GzipReader(stream, budget), limits)
        members = 0
        for member in reader.members():
            members += 1
            if members > limits.max_members:
                raise Abort("archive-members", f"the sdist has over {limits.max_members} members")
            name = member.name.removeprefix("./")
            if member.isdir:
                name = name.rstrip("/")
            if member.type in DEVICE_TYPES:
                found.note("member-type", f"member {name!r} is {DEVICE_TYPES[member.type]}")
                continue
            if member.isreg:
                kind = "file"
            elif member.isdir:
                kind = "dir"
            elif member.issym:
                kind = "symlink"
            elif member.islnk:
                kind = "hardlink"
            else:
                found.note(
                    "member-type",
                    f"member {name!r} is of tar type {member.type!r}, which sdist tools "
                    "never write",
                )
                continue
            if not layout.add(name, kind, found, member.linkname):
                continue
            if layout.is_pkg_info(name) and kind == "file":
                layout.pkg_info = reader.read_data(member, limits.max_metadata_bytes)
                budget.hold(len(layout.pkg_info), "PKG-INFO")
        if members == 0:
            raise Abort("sdist-layout", "the sdist is an empty archive")
        reader.finish()
    except Abort as stop:
        found.note(stop.code, stop.text)
        return found
    layout.finish(found, limits)
    return found


def inspect_zip_sdist(
    archive: BinaryIO, size: int, dist: DistributionFilename, limits: Limits
) -> Inspection:
    """Inspect a .zip sdist (PyPI took them until PEP 625): the wheel's zip rules, sdist layout."""
    found = Inspection()
    budget = Budget(compressed_size=size, limits=limits, what="sdist")
    layout = _Layout(dist, budget)
    try:
        zf = open_strict_zip(archive, size, budget, limits, found, what="sdist")
        for info in zf.infolist():
            name = info.filename.rstrip("/")
            kind = member_kind(info, found)
            if kind is None:
                continue
            layout.add(name, kind, found)
        if not found.ok:
            return found
        pkg_info = f"{layout.root}/PKG-INFO"
        if layout.tree_has_file(pkg_info):
            layout.pkg_info = read_member(zf, pkg_info, limits.max_metadata_bytes, budget)
        read_members(zf, budget, found)
    except Abort as stop:
        found.note(stop.code, stop.text)
        return found
    layout.finish(found, limits)
    return found


class _Layout:
    """Collects the sdist's top directories, its tree of members and its PKG-INFO."""

    def __init__(self, dist: DistributionFilename, budget: Budget) -> None:
        self.dist = dist
        self.root: str | None = None
        self.tops: set[str] = set()
        self.pkg_info: bytes | None = None
        self._tree: Tree | None = None
        self._budget = budget
        self._root_not_dir = False

    def add(self, name: str, kind: str, found: Inspection, target: str = "") -> bool:
        problem = path_problem(name)
        if problem:
            found.note("member-path", problem)
            return False
        top = name.split("/", 1)[0]
        if self.root is None:
            self.root = top
            self._tree = Tree(top, self._budget)
        if top not in self.tops:
            if len(self.tops) >= 20:
                raise Abort("sdist-layout", "the sdist has many top-level entries; it needs one")
            self.tops.add(top)
        if name == top and kind != "dir":
            self._root_not_dir = True
        assert self._tree is not None
        return self._tree.add(name, kind, found, target)

    def is_pkg_info(self, name: str) -> bool:
        return self.root is not None and name == f"{self.root}/PKG-INFO"

    def tree_has_file(self, name: str) -> bool:
        return self._tree is not None and self._tree.has_file(name)

    def finish(self, found: Inspection, limits: Limits) -> None:
        root = self.root or ""
        if len(self.tops) != 1 or self._root_not_dir:
            others = sorted(self.tops - {root})
            found.note(
                "sdist-layout",
                "an sdist must hold a single top-level directory"
                + (f"; it also has {', '.join(others[:5])}" if others else ""),
            )
            return
        self._check_root_name(root, found)
        assert self._tree is not None
        self._tree.check(found)
        if self.pkg_info is None:
            found.note("sdist-pkg-info", f"the sdist lacks {root}/PKG-INFO")
            return
        check_metadata(
            self.pkg_info,
            source=f"{root}/PKG-INFO",
            project=self.dist.project,
            version=self.dist.version,
            limits=limits,
            found=found,
            has_file=self._tree.has_file,
            license_dir=root,
        )

    def _check_root_name(self, root: str, found: Inspection) -> None:
        if root == self.dist.stem:
            return
        for at in range(len(root)):
            if root[at] != "-":
                continue
            try:
                same = canonicalize_name(root[:at]) == self.dist.project and Version(
                    root[at + 1 :]
                ) == (self.dist.version)
            except InvalidVersion:
                continue
            if same:
                found.note(
                    "sdist-top-dir-unnormalised",
                    f"the top directory {root!r} is not spelled like the filename "
                    f"({self.dist.stem!r}); accepted, it names the same release",
                )
                return
        found.note(
            "sdist-layout",
            f"the top directory {root!r} is not {self.dist.stem!r} "
            "(it must name the same project and version)",
        )
