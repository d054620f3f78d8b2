"""The run's verdicts, shared by the doors, the installs and the report."""

from __future__ import annotations

from dataclasses import dataclass

UPLOAD2 = "upload2"
TWINE = "twine"

ACCEPTED = "accepted"
REFUSED = "refused"  # the server (or wharf's own client) said no
CLIENT = "client"  # a third-party client refused the file before sending it
SKIPPED = "skipped"  # not tried at this door (over the legacy limit)


@dataclass(frozen=True)
class Verdict:
    filename: str
    door: str
    status: str
    reason: str = ""


@dataclass(frozen=True)
class InstallResult:
    name: str
    tool: str
    ok: bool
    seconds: float
    detail: str  # what was installed, or why it failed
