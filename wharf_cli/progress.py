"""Telling the user what the upload is doing: bars on a terminal, lines otherwise, or JSON."""

from __future__ import annotations

import json
import sys
import threading
import time
from typing import Any, TextIO

_UP = "\x1b[{}F"  # cursor to the start of the line n lines up
_CLEAR = "\x1b[2K"


def _bar(done: float, total: float, width: int = 24) -> str:
    filled = int(width * done / total) if total else width
    return "#" * filled + "-" * (width - filled)


class Reporter:
    """Receives events from the uploader; ``mode`` is ``json``, ``tty`` or ``plain``.

    On a terminal it keeps one bar per file and one for the whole upload, each with
    throughput and ETA, redrawn in place.
    """

    def __init__(self, mode: str, stream: TextIO | None = None) -> None:
        self.mode = mode
        self._out = stream or sys.stdout
        self._lock = threading.Lock()
        self._files: dict[str, dict[str, Any]] = {}
        self._started = time.monotonic()
        self._last_draw = 0.0
        self._drawn = 0

    def event(self, kind: str, **fields: Any) -> None:
        with self._lock:
            if self.mode == "json":
                print(json.dumps({"event": kind, **fields}), file=self._out, flush=True)
                return
            name = fields.get("file")
            if kind == "file-start":
                self._files[name] = {
                    "size": fields["size"],
                    "sent": 0,
                    "start": time.monotonic(),
                    "status": fields["mechanism"],
                }
                if self.mode == "plain":
                    self._say(f"uploading {name} ({fields['size']} bytes, {fields['mechanism']})")
            elif kind == "bytes" and name in self._files:
                self._files[name]["sent"] += fields["bytes"]
            elif kind in ("file-done", "file-skipped"):
                status = fields.get("status", kind)
                if name in self._files:
                    self._files[name]["status"] = status
                    self._files[name]["end"] = time.monotonic()
                if self.mode == "plain":
                    self._say(f"{name}: {status}")
            elif kind in ("session", "published", "staged", "notice"):
                self._say(fields.get("message", ""))
                return
            if self.mode == "tty":
                self._draw(force=kind != "bytes")

    def _say(self, text: str) -> None:
        print(text, file=self._out, flush=True)
        self._drawn = 0  # the bars start again below this line

    def _line(self, label: str, sent: float, size: float, started: float, end: float | None) -> str:
        elapsed = max((end or time.monotonic()) - started, 1e-6)
        rate = sent / elapsed
        eta = (size - sent) / rate if rate and sent < size else 0
        return (
            f"{label[:38]:38} [{_bar(sent, size)}] {sent * 100 / (size or 1):5.1f}% "
            f"{rate / 1e6:7.1f} MB/s ETA {eta:4.0f}s"
        )

    def _draw(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last_draw < 0.2:
            return
        self._last_draw = now
        lines = [
            self._line(name, f["sent"], f["size"], f["start"], f.get("end")) + f"  {f['status']}"
            for name, f in self._files.items()
        ]
        total = sum(f["size"] for f in self._files.values())
        sent = sum(f["sent"] for f in self._files.values())
        lines.append(
            self._line(f"total ({len(self._files)} files)", sent, total, self._started, None)
        )
        out = _UP.format(self._drawn) if self._drawn else ""
        out += "".join(f"{_CLEAR}{line}\n" for line in lines)
        self._out.write(out)
        self._out.flush()
        self._drawn = len(lines)
