"""Telling the user what the upload is doing: bars on a terminal, lines otherwise, or JSON."""

from __future__ import annotations

import json
import sys
import threading
import time
from typing import Any, TextIO


class Reporter:
    """Receives events from the uploader; ``mode`` is ``json``, ``tty`` or ``plain``."""

    def __init__(self, mode: str, stream: TextIO | None = None) -> None:
        self.mode = mode
        self._out = stream or sys.stdout
        self._lock = threading.Lock()
        self._files: dict[str, dict[str, float]] = {}
        self._started = time.monotonic()
        self._last_draw = 0.0

    def event(self, kind: str, **fields: Any) -> None:
        with self._lock:
            if self.mode == "json":
                print(json.dumps({"event": kind, **fields}), file=self._out, flush=True)
                return
            if kind == "file-start":
                self._files[fields["file"]] = {
                    "size": fields["size"],
                    "sent": 0,
                    "start": time.monotonic(),
                }
                if self.mode == "plain":
                    print(
                        f"uploading {fields['file']} "
                        f"({fields['size']} bytes, {fields['mechanism']})",
                        file=self._out,
                        flush=True,
                    )
            elif kind == "bytes":
                state = self._files.get(fields["file"])
                if state:
                    state["sent"] += fields["bytes"]
                if self.mode == "tty":
                    self._draw()
            elif kind in ("file-done", "file-skipped"):
                if self.mode == "tty":
                    self._draw(force=True)
                    print(file=self._out)
                print(f"{fields['file']}: {fields.get('status', kind)}", file=self._out, flush=True)
            elif kind in ("session", "published", "staged", "notice"):
                print(fields.get("message", ""), file=self._out, flush=True)

    def _draw(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last_draw < 0.2:
            return
        self._last_draw = now
        total = sum(f["size"] for f in self._files.values()) or 1
        sent = sum(f["sent"] for f in self._files.values())
        elapsed = max(now - self._started, 1e-6)
        rate = sent / elapsed
        eta = (total - sent) / rate if rate else 0
        width = 30
        filled = int(width * sent / total)
        bar = "#" * filled + "-" * (width - filled)
        line = (
            f"\r[{bar}] {sent * 100 / total:5.1f}% {sent / 1e6:8.1f} MB "
            f"{rate / 1e6:6.1f} MB/s ETA {eta:5.0f}s ({len(self._files)} files)"
        )
        print(line, end="", file=self._out, flush=True)
