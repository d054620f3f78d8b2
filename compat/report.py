"""The run's findings: counts per door, every refusal in the server's words, the installs,
what the list covered; as text for people and JSON for tools. Pure functions of the data."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

from .catalog import Catalog
from .model import ACCEPTED, CLIENT, REFUSED, SKIPPED, TWINE, UPLOAD2, InstallResult, Verdict

DOOR_TITLES = {UPLOAD2: "Upload 2.0 (wharf upload)", TWINE: "legacy API (twine 6.1)"}


@dataclass(frozen=True)
class FileFacts:
    """A listed file as downloaded: where it comes from and what it declares."""

    filename: str
    group: str
    release: str
    size: int
    upload_time: str | None
    metadata_version: str | None
    license_file: bool = False
    license_expression: bool = False


@dataclass
class Results:
    code: str
    files: list[FileFacts]
    verdicts: list[Verdict] = field(default_factory=list)
    installs: list[InstallResult] = field(default_factory=list)
    index_problems: list[str] = field(default_factory=list)
    fetched_bytes: int = 0
    seconds: dict[str, float] = field(default_factory=dict)
    memory: dict[str, int] = field(default_factory=dict)  # door -> the stack's peak RSS
    aborted: str | None = None  # why the run stopped early


def reason_kind(reason: str) -> str:
    """A refusal's reason with the file-specific parts blanked, to count alike refusals."""
    text = re.sub(r"(?<!\w)'[^']*'|\"[^\"]*\"", "'…'", reason)  # not the 's of "wheel's"
    text = re.sub(r"[\w.!+-]+\.(whl|tar\.gz|zip)\b", "FILE", text)
    text = re.sub(r"\S+(/PKG-INFO|\.dist-info/METADATA)", "METADATA", text)
    text = re.sub(r"\b\d+(\.\d+)+\b", "N", text)
    # Several notices in any order are one kind; a notice repeated is one notice.
    return "; ".join(sorted(set(text.split("; "))))


def unexpected(results: Results, catalog: Catalog) -> list[Verdict]:
    """Refusals by wharf (or its client) that the list does not justify: the bugs."""
    return [
        v
        for v in results.verdicts
        if v.status == REFUSED and not catalog.expected_refusal(v.filename, v.door)
    ]


def stale_expectations(results: Results, catalog: Catalog) -> list[str]:
    """Expected refusals that did not happen (the list should drop them)."""
    accepted = {(v.filename, v.door) for v in results.verdicts if v.status == ACCEPTED}
    return [
        f"{e.filename} ({door})"
        for e in catalog.expected
        for door in e.doors
        if (e.filename, door) in accepted
    ]


def failed(results: Results, catalog: Catalog) -> bool:
    return bool(
        results.aborted
        or unexpected(results, catalog)
        or results.index_problems
        or any(not i.ok for i in results.installs)
    )


def _mb(size: int) -> str:
    return f"{size / 1e6:.1f} MB"


def coverage(results: Results) -> list[str]:
    files = results.files
    releases = {f.release for f in files}
    # dict.fromkeys: each release once, in the list's order.
    groups = Counter(group for _, group in dict.fromkeys((f.release, f.group) for f in files))
    years = sorted(f.upload_time[:4] for f in files if f.upload_time)
    versions = Counter(f.metadata_version or "none found" for f in files)
    kinds = Counter(
        "wheel"
        if f.filename.endswith(".whl")
        else "zip sdist"
        if f.filename.endswith(".zip")
        else "tar.gz sdist"
        for f in files
    )
    early_license_file = sum(
        1 for f in files if f.license_file and f.metadata_version not in (None, "2.4", "2.5")
    )
    lines = [
        f"{len(releases)} releases, {len(files)} files, {_mb(sum(f.size for f in files))} "
        f"({', '.join(f'{k} {n}' for k, n in sorted(kinds.items()))})",
        "groups: " + ", ".join(f"{g} {n}" for g, n in groups.items()),
    ]
    if years:
        per_year = Counter(years)
        lines.append(
            f"uploaded to PyPI {years[0]}-{years[-1]}: "
            + ", ".join(f"{y}: {n}" for y, n in sorted(per_year.items()))
        )
    lines.append(
        "core metadata versions: "
        + ", ".join(f"{v}: {n}" for v, n in sorted(versions.items()))
        + f"; License-File before 2.4: {early_license_file}"
        + f"; License-Expression: {sum(f.license_expression for f in files)}"
    )
    return lines


def door_counts(results: Results, door: str) -> str:
    verdicts = [v for v in results.verdicts if v.door == door]
    if not verdicts:
        return f"{DOOR_TITLES[door]}: not run"
    counts = Counter(v.status for v in verdicts)
    tried = len(verdicts) - counts[SKIPPED]
    text = f"{DOOR_TITLES[door]}: accepted {counts[ACCEPTED]} / {tried}"
    extras = []
    if counts[REFUSED]:
        extras.append(f"{counts[REFUSED]} refused")
    if counts[CLIENT]:
        extras.append(f"{counts[CLIENT]} refused by the client before sending")
    if counts[SKIPPED]:
        extras.append(f"{counts[SKIPPED]} over the 4 MiB legacy limit, not tried")
    return text + (f" ({'; '.join(extras)})" if extras else "")


def group_counts(results: Results) -> list[str]:
    """Accepted / tried per group and door, e.g. ``old  upload2 20/22  twine 3/5``."""
    groups = {f.filename: f.group for f in results.files}
    tally: dict[str, dict[str, Counter]] = {}
    for v in results.verdicts:
        if v.status == SKIPPED:
            continue
        door = tally.setdefault(groups.get(v.filename, "?"), {}).setdefault(v.door, Counter())
        door["tried"] += 1
        door["accepted"] += v.status == ACCEPTED
    width = max((len(g) for g in tally), default=0)
    return [
        f"  {group:{width}}  "
        + "  ".join(
            f"{door} {doors[door]['accepted']}/{doors[door]['tried']}"
            for door in (UPLOAD2, TWINE)
            if door in doors
        )
        for group in dict.fromkeys(f.group for f in results.files)
        if (doors := tally.get(group))
    ]


def format_text(results: Results, catalog: Catalog) -> str:
    groups = {f.filename: f.group for f in results.files}
    out = [f"wharf compatibility run against {results.code}", ""]
    out += coverage(results)
    out.append("")
    out += [door_counts(results, door) for door in (UPLOAD2, TWINE)]
    out += ["accepted per group:", *group_counts(results)]
    for door in (UPLOAD2, TWINE):
        refused = sorted(
            (v for v in results.verdicts if v.door == door and v.status == REFUSED),
            key=lambda v: (groups.get(v.filename, ""), v.filename.lower()),
        )
        if refused:
            out += ["", f"Refused at the {DOOR_TITLES[door]} ({len(refused)}):"]
            for v in refused:
                mark = " [expected]" if catalog.expected_refusal(v.filename, door) else ""
                out.append(f"  {v.filename} [{groups.get(v.filename, '?')}]{mark}")
                out.append(f"      {v.reason}")
            kinds = Counter(reason_kind(v.reason) for v in refused)
            out.append("  by reason:")
            out += [f"    {n:4d}  {kind}" for kind, n in kinds.most_common()]
        client = [v for v in results.verdicts if v.door == door and v.status == CLIENT]
        if client:
            out += ["", f"Refused by the client itself, never sent to wharf ({len(client)}):"]
            for v in sorted(client, key=lambda v: v.filename.lower()):
                out.append(f"  {v.filename}: {v.reason}")
    if results.index_problems:
        out += ["", "The index disagrees with the verdicts:"]
        out += [f"  {p}" for p in results.index_problems]
    if results.installs:
        out += ["", "Installs (pip and uv, from a stack of their own):"]
        for i in results.installs:
            out.append(f"  {'ok  ' if i.ok else 'FAIL'}  {i.tool:3}  {i.name} ({i.seconds:.1f} s)")
            out.append(f"        {i.detail}")
    stale = stale_expectations(results, catalog)
    if stale:
        out += ["", "Expected refusals that did not happen: " + ", ".join(stale)]
    bugs = unexpected(results, catalog)
    if results.aborted:
        out += ["", f"THE RUN STOPPED EARLY: {results.aborted}"]
    out += [
        "",
        f"unexpected refusals: {len(bugs)}; index problems: {len(results.index_problems)}; "
        f"failed installs: {sum(not i.ok for i in results.installs)}",
        "time: "
        + ", ".join(f"{k} {v:.0f} s" for k, v in results.seconds.items())
        + f"; downloaded now: {_mb(results.fetched_bytes)}",
        "stack peak memory: "
        + (", ".join(f"{d} {m / 2**30:.2f} GiB" for d, m in results.memory.items()) or "-"),
    ]
    return "\n".join(out)


def to_json(results: Results, catalog: Catalog) -> dict[str, Any]:
    return {
        "code": results.code,
        "coverage": coverage(results),
        "doors": {door: door_counts(results, door) for door in (UPLOAD2, TWINE)},
        "files": [asdict(f) for f in results.files],
        "verdicts": [
            {**asdict(v), "expected": bool(catalog.expected_refusal(v.filename, v.door))}
            for v in results.verdicts
        ],
        "installs": [asdict(i) for i in results.installs],
        "index_problems": results.index_problems,
        "unexpected_refusals": len(unexpected(results, catalog)),
        "failed": failed(results, catalog),
        "seconds": results.seconds,
        "fetched_bytes": results.fetched_bytes,
        "stack_peak_rss": results.memory,
        "aborted": results.aborted,
    }
