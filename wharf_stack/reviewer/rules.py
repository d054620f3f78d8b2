"""The rule interface of the example reviewer.

A rule is any object with a ``name`` and a ``check(member)`` method that returns ``None``
(nothing found) or a short reason to reject the file. ``check`` sees each member of the
archive (a wheel's zip entries, an sdist's tar members) once, with its name and at most
``MAX_MEMBER_BYTES`` of its content, so a rule set's work is bounded whatever the upload.
"""

from __future__ import annotations

import tarfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO, Protocol

# What a rule sees of one member, and of a whole archive: enough for a marker or a
# signature scan, bounded for a hostile upload (validation already capped the archive).
MAX_MEMBER_BYTES = 8 * 1024 * 1024
MAX_MEMBERS = 50_000


@dataclass(frozen=True)
class Member:
    """One file inside the distribution."""

    name: str
    content: bytes  # at most MAX_MEMBER_BYTES: the rest is not read


class Rule(Protocol):
    name: str

    def check(self, member: Member) -> str | None:
        """A reason to reject the file because of ``member``, or ``None``."""


@dataclass(frozen=True)
class Finding:
    rule: str
    member: str
    reason: str

    def __str__(self) -> str:
        return f"{self.member}: {self.reason} (rule {self.rule})"


def members(filename: str, data: BinaryIO) -> Iterator[Member]:
    """Every regular file of a wheel (zip) or an sdist (.tar.gz), content capped."""
    if filename.endswith((".whl", ".zip")):
        with zipfile.ZipFile(data) as archive:
            for count, info in enumerate(archive.infolist()):
                if count >= MAX_MEMBERS:
                    return
                if info.is_dir():
                    continue
                with archive.open(info) as handle:
                    yield Member(info.filename, handle.read(MAX_MEMBER_BYTES))
        return
    with tarfile.open(fileobj=data, mode="r:*") as archive:
        for count, info in enumerate(archive):
            if count >= MAX_MEMBERS:
                return
            if not info.isfile():
                continue
            handle = archive.extractfile(info)
            if handle is not None:
                yield Member(info.name, handle.read(MAX_MEMBER_BYTES))


def review(filename: str, data: BinaryIO, rules: list[Rule]) -> list[Finding]:
    """Apply every rule to every member; the findings (empty: approve)."""
    findings = []
    for member in members(filename, data):
        for rule in rules:
            reason = rule.check(member)
            if reason:
                findings.append(Finding(rule.name, member.name, reason))
    return findings
