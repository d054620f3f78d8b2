"""Telling the user what the upload is doing: bars on a terminal, plain lines otherwise
(CI logs), or one JSON object per line (``--json``)."""

from __future__ import annotations

import json
import sys
import threading
import time
from typing import Any, TextIO

_UP = "\x1b[{}F"  # cursor to the start of the line n lines up
_CLEAR = "\x1b[2K"
MiB = 1024 * 1024
# Events that carry a sentence for the user.
_MESSAGES = ("session", "waiting", "notice")
# The last word on a release: on a terminal it goes below the finished bars.
_OUTCOMES = ("published", "staged", "already-published")


def _bar(done: float, total: float, width: int = 24) -> str:
    filled = int(width * done / total) if total else width
    return "#" * filled + "-" * (width - filled)


def size(count: float) -> str:
    """Bytes for people: 944 B, 12.3 KiB, 60.0 MiB, 1.5 GiB."""
    for unit, scale in (("GiB", 1024**3), ("MiB", MiB), ("KiB", 1024)):
        if count >= scale:
            return f"{count / scale:.1f} {unit}"
    return f"{count:.0f} B"


class Reporter:
    """Receives events from the uploader; ``mode`` is ``json``, ``tty`` or ``plain``.

    On a terminal it keeps one bar per file and one for the whole upload, each with
    throughput and ETA, redrawn in place. Elsewhere it writes lines a CI log can show:
    each tenth of a file as it is sent, and every state change. ``close`` stops all
    output (worker threads may still report after the user pressed Ctrl-C).
    """

    def __init__(self, mode: str, stream: TextIO | None = None) -> None:
        self.mode = mode
        self._out = stream or sys.stdout
        self._lock = threading.Lock()
        self._files: dict[str, dict[str, Any]] = {}
        self._started = time.monotonic()
        self._last_draw = 0.0
        self._drawn = 0
        self._closed = False

    @property
    def sent(self) -> int:
        """Bytes sent by this run (not those a resumed upload found already there)."""
        with self._lock:
            return sum(f["sent"] - f["held"] for f in self._files.values())

    def close(self) -> None:
        with self._lock:
            self._closed = True

    def event(self, kind: str, **fields: Any) -> None:
        with self._lock:
            if self._closed:
                return
            name = fields.get("file")
            if kind == "file-start":
                self._files[name] = {
                    "size": fields["size"],
                    "sent": 0,
                    "held": 0,
                    "tenths": 0,
                    "start": time.monotonic(),
                    "status": fields["mechanism"],
                }
            elif kind == "bytes" and name in self._files:
                self._files[name]["sent"] += fields["bytes"]
                if fields.get("resumed"):
                    self._files[name]["held"] += fields["bytes"]
            if self.mode == "json":
                print(json.dumps({"event": kind, **fields}), file=self._out, flush=True)
                return
            self._human(kind, fields)

    def _human(self, kind: str, fields: dict[str, Any]) -> None:
        name = fields.get("file")
        file = self._files.get(name) if name else None
        if kind in _MESSAGES:
            self._say(fields.get("message", ""))
        elif kind in _OUTCOMES:
            if self.mode == "tty" and self._files:
                self._draw(force=True)
            print(fields.get("message", ""), file=self._out, flush=True)
            self._files.clear()  # the next release gets bars of its own
            self._drawn = 0
            return
        elif kind == "file-start":
            if self.mode == "plain":
                self._say(f"{name}: uploading {size(fields['size'])} ({fields['mechanism']})")
        elif kind == "bytes" and file is not None:
            tenths = int(10 * file["sent"] / file["size"]) if file["size"] else 10
            if self.mode == "plain" and file["tenths"] < tenths < 10:
                self._say(f"{name}: {tenths * 10}% ({size(file['sent'])} of {size(file['size'])})")
            file["tenths"] = tenths
        elif kind == "resume" and self.mode == "plain":
            self._say(
                f"{name}: resuming; {fields['held_parts']} parts already uploaded, "
                f"{fields['missing_parts']} to send"
            )
        elif kind == "file-sent" and file is not None:
            file["status"] = "validating"
            file["end"] = time.monotonic()
            if self.mode == "plain":
                elapsed = max(file["end"] - file["start"], 1e-6)
                rate = (file["sent"] - file["held"]) / elapsed
                self._say(
                    f"{name}: sent {size(file['sent'] - file['held'])} in {elapsed:.1f} s "
                    f"({size(rate)}/s); validating"
                )
        elif kind in ("file-done", "file-skipped"):
            status = fields.get("status", kind)
            notices = fields.get("notices") or []
            if file is not None:
                file["status"] = status
            if self.mode == "plain" or file is None:
                self._say(f"{name}: {status}" + (f" ({'; '.join(notices)})" if notices else ""))
        elif kind == "interrupted" or kind == "error":
            self._say(fields.get("message", ""))
            return
        if self.mode == "tty" and self._files:
            self._draw(force=kind != "bytes")

    def _say(self, text: str) -> None:
        if self.mode == "tty" and self._drawn:
            # Replace the bars with the line, and draw them again below it.
            self._out.write(_UP.format(self._drawn) + _CLEAR)
        print(text, file=self._out, flush=True)
        if self.mode == "tty" and self._drawn:
            self._drawn = 0
            self._draw(force=True)

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
