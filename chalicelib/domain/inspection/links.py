"""The tree an sdist unpacks to, checked as a whole: links are resolved through each other.

A link checked on its own can look harmless and still escape once an earlier link is
followed (``d/up -> ..`` then ``d/up/e1 -> ..``: unpacked, ``d/up/e1`` is ``e1`` beside
the top directory, and ``..`` from there is outside it). So the checks run once every
member is known, on the tree the archive describes:

* no member is unpacked through a symlink (a path whose parent is, or passes through,
  a symlink), whatever the order of members: extractors differ on whether they follow
  the link or replace it;
* a symlink's target, followed through every other symlink, stays inside the top
  directory (and loops are refused);
* a hard link names a regular file of the archive.

Paths are compared after Unicode NFC normalisation and case folding, because macOS and
Windows file systems treat ``Up`` and ``up`` (and NFD spellings) as one name.
"""

from __future__ import annotations

import posixpath
import unicodedata
from typing import TYPE_CHECKING

from .budget import PER_ENTRY_OVERHEAD, Budget

if TYPE_CHECKING:
    from .report import Inspection

# The kernel's limit on links followed while resolving one path.
_MAX_HOPS = 40


def _key(path: str) -> str:
    return unicodedata.normalize("NFC", path).casefold()


class Tree:
    def __init__(self, root: str, budget: Budget) -> None:
        self._root = root
        self._budget = budget
        self._kinds: dict[str, str] = {}  # key -> "file" | "dir" | "symlink" | "hardlink"
        self._names: dict[str, str] = {}  # key -> the path as written
        self._symlinks: dict[str, str] = {}  # key -> target
        self._hardlinks: list[tuple[str, str]] = []

    def add(self, path: str, kind: str, found: Inspection, target: str = "") -> bool:
        """Record a member; ``False`` (with a notice) if its path is already taken."""
        key = _key(path)
        self._budget.hold(len(path.encode()) * 2 + len(target) + PER_ENTRY_OVERHEAD, path)
        earlier = self._kinds.get(key)
        if earlier is not None:
            if earlier == "dir" and kind == "dir":
                return True  # a directory listed twice unpacks the same either way
            found.note("member-duplicate", f"{path!r} appears more than once in the archive")
            return False
        self._kinds[key] = kind
        self._names[key] = path
        if kind == "symlink":
            self._symlinks[key] = target
        elif kind == "hardlink":
            self._hardlinks.append((path, target))
        return True

    def has_file(self, path: str) -> bool:
        return self._kinds.get(_key(path)) == "file"

    def check(self, found: Inspection) -> None:
        """Every link problem of the whole tree (call once all members are added)."""
        reported = 0
        for key, path in self._names.items():
            through = self._symlink_above(key)
            if through is not None:
                found.note(
                    "sdist-link",
                    f"{path!r} would be unpacked through the symlink {self._names[through]!r}",
                )
                reported += 1
                if reported >= 20:
                    return
        for key, target in self._symlinks.items():
            path = self._names[key]
            problem = self._escape(path, target)
            if problem:
                found.note("sdist-link", f"symlink {path!r} -> {target!r} {problem}")
        for path, target in self._hardlinks:
            normal = posixpath.normpath(target) if target else ""
            if not self.has_file(normal) or not normal.startswith(self._root + "/"):
                found.note(
                    "sdist-link",
                    f"hard link {path!r} -> {target!r} does not name a file of the sdist",
                )

    def _symlink_above(self, key: str) -> str | None:
        parts = key.split("/")
        for end in range(1, len(parts)):
            prefix = "/".join(parts[:end])
            if prefix in self._symlinks:
                return prefix
        return None

    def _escape(self, path: str, target: str) -> str | None:
        """Why following the symlink at ``path`` leaves the top directory, or ``None``."""
        if not target:
            return "has an empty target"
        if target.startswith("/") or "\\" in target or (len(target) > 1 and target[1] == ":"):
            return "points to an absolute path"
        pending = [*posixpath.dirname(path).split("/"), *target.split("/")]
        resolved: list[str] = []
        hops = 0
        while pending:
            part = pending.pop(0)
            if part in ("", "."):
                continue
            if part == "..":
                if not resolved:
                    return "points outside the sdist"
                resolved.pop()
                continue
            resolved.append(part)
            link = self._symlinks.get(_key("/".join(resolved)))
            if link is not None:
                hops += 1
                if hops > _MAX_HOPS:
                    return "is part of a symlink loop"
                if link.startswith("/") or "\\" in link:
                    return "leads through a symlink to an absolute path"
                resolved.pop()
                pending = [*link.split("/"), *pending]
        if not resolved or resolved[0].casefold() != self._root.casefold():
            return "points outside the sdist's top directory"
        return None
