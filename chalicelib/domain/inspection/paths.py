"""Archive member paths that are safe to unpack."""

from __future__ import annotations


def path_problem(name: str) -> str | None:
    """Why a member path is unsafe, or ``None``."""
    if not name:
        return "an archive member has an empty name"
    if any(not ch.isprintable() for ch in name):
        return f"member {name!r} has control characters in its name"
    if "\\" in name:
        return f"member {name!r} uses '\\' in its path"
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        return f"member {name!r} has an absolute path"
    if ".." in name.split("/"):
        return f"member {name!r} has a '..' path component"
    return None
