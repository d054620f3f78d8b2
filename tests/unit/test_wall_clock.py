"""Only the clock and the composition root read the wall clock; everything else takes the
injected clock, so the suite behaves the same on any date."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ALLOWED = {"chalicelib/domain/clock.py", "chalicelib/wiring.py"}
# Reading these is reading the wall clock; perf_counter and monotonic (durations) are fine.
WALL_CLOCK_ATTRIBUTES = {
    ("datetime", "now"),
    ("datetime", "utcnow"),
    ("datetime", "today"),
    ("date", "today"),
    ("time", "time"),
    ("time", "time_ns"),
    ("time", "gmtime"),
    ("time", "localtime"),
    ("time", "ctime"),
    ("time", "strftime"),
}
WALL_CLOCK_IMPORTS = {
    ("time", "time"),
    ("time", "time_ns"),
    ("time", "gmtime"),
    ("time", "localtime"),
    ("time", "ctime"),
    ("time", "strftime"),
    ("clock", "utcnow"),  # chalicelib.domain.clock.utcnow, the wall clock itself
}


def wall_clock_reads(source: str) -> list[str]:
    """Every place in ``source`` that reads the wall clock, as ``line: what``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute):
            owner = node.value
            owner_name = (
                owner.id
                if isinstance(owner, ast.Name)
                else owner.attr
                if isinstance(owner, ast.Attribute)
                else None
            )
            if (owner_name, node.attr) in WALL_CLOCK_ATTRIBUTES:
                found.append(f"{node.lineno}: {owner_name}.{node.attr}")
        elif isinstance(node, ast.ImportFrom) and node.module:
            module = node.module.rsplit(".", 1)[-1]
            for alias in node.names:
                if (module, alias.name) in WALL_CLOCK_IMPORTS:
                    dots = "." * node.level
                    found.append(f"{node.lineno}: from {dots}{node.module} import {alias.name}")
    return sorted(found, key=lambda entry: int(entry.split(":")[0]))


def test_the_detector_finds_every_form():
    source = """
import time
from datetime import UTC, date, datetime
import datetime as dt
from time import time as now
from ..domain.clock import utcnow
a = datetime.now(UTC)
b = dt.datetime.utcnow()
c = time.time()
d = date.today()
e = time.perf_counter()
f = time.monotonic()
"""
    assert wall_clock_reads(source) == [
        "5: from time import time",
        "6: from ..domain.clock import utcnow",
        "7: datetime.now",
        "8: datetime.utcnow",
        "9: time.time",
        "10: date.today",
    ]


def test_no_server_module_reads_the_wall_clock():
    offenders = {}
    for path in sorted([*ROOT.glob("chalicelib/**/*.py"), ROOT / "app.py"]):
        relative = path.relative_to(ROOT).as_posix()
        if relative in ALLOWED:
            continue
        reads = wall_clock_reads(path.read_text(encoding="utf-8"))
        if reads:
            offenders[relative] = reads
    assert offenders == {}, (
        f"Take the time from the injected clock (services get it from wiring.build): {offenders}"
    )
