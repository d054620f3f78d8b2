"""Telling the user what the upload is doing: rich's progress bars on a terminal, plain lines
otherwise (CI logs), or one JSON object per line (``--json``)."""

from __future__ import annotations

import json
import sys
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from rich.progress import TaskID

MiB = 1024 * 1024
# Events that carry a sentence for the user.
_MESSAGES = ("session", "waiting", "notice", "interrupted", "error")
# The last word on a release: on a terminal it goes below the finished bars.
_OUTCOMES = ("published", "staged", "already-published")
# Redraws of the bars per second at most; many parts report bytes at once.
_REDRAWS = 5


def size(count: float) -> str:
    """Bytes for people: 944 B, 12.3 KiB, 60.0 MiB, 1.5 GiB."""
    for unit, scale in (("GiB", 1024**3), ("MiB", MiB), ("KiB", 1024)):
        if count >= scale:
            return f"{count / scale:.1f} {unit}"
    return f"{count:.0f} B"


@dataclass
class _File:
    size: int
    start: float
    sent: int = 0  # bytes S3 holds, including those a resumed upload found there
    held: int = 0  # of those, the bytes found there (not sent by this run)
    tenths: int = 0  # the last tenth reported on a plain line
    end: float | None = None


class _Bars:
    """One rich ``Progress``: a bar per file and one for the whole upload, with transfer
    speed and ETA. It is redrawn when an event arrives, never by a timer: no thread of its
    own that could outlive Ctrl-C, and a frozen bar when nothing moves is the truth."""

    def __init__(self, stream: TextIO) -> None:
        # rich is imported only here, for a terminal: a fifth of the command's start-up,
        # which a CI job (plain lines or --json) would pay for nothing.
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TaskProgressColumn,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )
        from rich.table import Column

        # The caller found a terminal; a test's stream stands in for one.
        console = Console(file=stream, force_terminal=True)
        # The filename takes the width the other columns leave; long ones end in "…".
        self.progress = Progress(
            TextColumn(
                "{task.description}",
                markup=False,
                table_column=Column(ratio=1, min_width=12, no_wrap=True, overflow="ellipsis"),
            ),
            BarColumn(bar_width=20),
            TaskProgressColumn(),
            DownloadColumn(binary_units=True),
            TransferSpeedColumn(),
            TimeRemainingColumn(elapsed_when_finished=True),
            TextColumn(
                "{task.fields[status]}",
                markup=False,
                table_column=Column(min_width=10, max_width=24, no_wrap=True, overflow="ellipsis"),
            ),
            console=console,
            expand=True,
            auto_refresh=False,
            # Nothing else writes to stdout meanwhile; lines for stderr stop the bars first.
            redirect_stdout=False,
            redirect_stderr=False,
        )
        self.tasks: dict[str, TaskID] = {}
        self.total = self.progress.add_task("total", total=0, status="")
        self._drawn = 0.0

    def start_file(self, name: str, size: int) -> None:
        self.tasks[name] = self.progress.add_task(name, total=size, status="sending")
        total = self.progress.tasks[self.total]
        self.progress.update(
            self.total,
            total=(total.total or 0) + size,
            description=f"total ({len(self.tasks)} files)",
        )
        if len(self.tasks) == 1:
            self.progress.start()  # the first frame has the file in it

    def sent(self, name: str, count: int, *, resumed: bool) -> None:
        if name not in self.tasks:
            return
        if not resumed:
            self.progress.advance(self.tasks[name], count)
            self.progress.advance(self.total, count)
            return
        # Bytes found on S3 were not sent now: start the clock afresh from them, so the
        # speed and ETA count only what this run sends.
        for task_id in (self.tasks[name], self.total):
            task = self.progress.tasks[task_id]
            self.progress.reset(task_id, completed=int(task.completed) + count, **task.fields)

    def status(self, name: str, status: str) -> None:
        if name in self.tasks:
            self.progress.update(self.tasks[name], status=status)

    def say(self, text: str) -> None:
        """A line above the bars."""
        self.progress.console.print(text, markup=False, highlight=False, soft_wrap=True)

    def draw(self, *, force: bool) -> None:
        now = time.monotonic()
        if force or now - self._drawn >= 1 / _REDRAWS:
            self._drawn = now
            self.progress.refresh()

    def stop(self) -> None:
        """Draw the last frame and leave it on the screen; later output goes below it."""
        self.progress.stop()


class Reporter:
    """Receives events from the uploader; ``mode`` is ``json``, ``tty`` or ``plain``.

    On a terminal it shows rich's progress bars, one per file and one for the whole
    upload. Elsewhere it writes lines a CI log can show: each tenth of a file as it is
    sent, and every state change. Under ``--json`` every event is a JSON line. ``close``
    stops all output (worker threads may still report after the user pressed Ctrl-C).
    """

    def __init__(self, mode: str, stream: TextIO | None = None) -> None:
        self.mode = mode
        self._out = stream or sys.stdout
        # Re-entrant: Ctrl-C may reach the main thread while it is reporting, and the
        # handler then closes the reporter from that same thread.
        self._lock = threading.RLock()
        self._files: dict[str, _File] = {}
        self._bars: _Bars | None = None
        self._closed = False

    @property
    def sent(self) -> int:
        """Bytes sent by this run (not those a resumed upload found already there)."""
        with self._lock:
            return sum(f.sent - f.held for f in self._files.values())

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._stop_bars()

    def finish_bars(self) -> None:
        """Leave the bars as they are, so that a line written to stderr comes below them."""
        with self._lock:
            self._stop_bars()

    def event(self, kind: str, **fields: Any) -> None:
        with self._lock:
            if self._closed:
                return
            name: str = fields.get("file") or ""
            if kind == "file-start":
                self._files[name] = _File(size=fields["size"], start=time.monotonic())
            elif kind == "bytes" and name in self._files:
                self._files[name].sent += fields["bytes"]
                if fields.get("resumed"):
                    self._files[name].held += fields["bytes"]
            if self.mode == "json":
                print(json.dumps({"event": kind, **fields}), file=self._out, flush=True)
            elif self.mode == "tty":
                self._terminal(kind, fields)
            else:
                self._plain(kind, fields)

    # --- plain lines ------------------------------------------------------------------------

    def _plain(self, kind: str, fields: dict[str, Any]) -> None:
        name: str = fields.get("file") or ""
        file = self._files.get(name)
        if kind in _MESSAGES or kind in _OUTCOMES:
            self._say(fields.get("message", ""))
            if kind in _OUTCOMES:
                self._files.clear()
        elif kind == "file-start":
            self._say(f"{name}: uploading {size(fields['size'])} ({fields['mechanism']})")
        elif kind == "bytes" and file is not None:
            tenths = int(10 * file.sent / file.size) if file.size else 10
            if file.tenths < tenths < 10:
                self._say(f"{name}: {tenths * 10}% ({size(file.sent)} of {size(file.size)})")
            file.tenths = tenths
        elif kind == "resume":
            self._say(
                f"{name}: resuming; {fields['held_parts']} parts already uploaded, "
                f"{fields['missing_parts']} to send"
            )
        elif kind == "file-sent" and file is not None:
            file.end = time.monotonic()
            elapsed = max(file.end - file.start, 1e-6)
            self._say(
                f"{name}: sent {size(file.sent - file.held)} in {elapsed:.1f} s "
                f"({size((file.sent - file.held) / elapsed)}/s); validating"
            )
        elif kind in ("file-done", "file-skipped"):
            notices = fields.get("notices") or []
            status = fields.get("status", kind)
            self._say(f"{name}: {status}" + (f" ({'; '.join(notices)})" if notices else ""))

    def _say(self, text: str) -> None:
        print(text, file=self._out, flush=True)

    # --- a terminal -------------------------------------------------------------------------

    def _terminal(self, kind: str, fields: dict[str, Any]) -> None:
        name: str = fields.get("file") or ""
        if kind in _OUTCOMES:
            self._stop_bars()
            self._files.clear()  # the next release gets bars of its own
            self._say(fields.get("message", ""))
            return
        if kind in _MESSAGES:
            if self._bars is None:
                self._say(fields.get("message", ""))
            else:
                self._bars.say(fields.get("message", ""))
            return
        if kind == "file-start":
            if self._bars is None:
                self._bars = _Bars(self._out)
            self._bars.start_file(name, fields["size"])
        elif self._bars is None:
            if kind == "file-skipped":  # before any bar: a file published already
                self._say(f"{name}: {fields.get('status', kind)}")
            return
        elif kind == "bytes":
            self._bars.sent(name, fields["bytes"], resumed=bool(fields.get("resumed")))
        elif kind == "file-sent":
            self._bars.status(name, "validating")
        elif kind in ("file-done", "file-skipped"):
            notices = fields.get("notices") or []
            status = fields.get("status", kind)
            if name in self._bars.tasks:
                self._bars.status(name, status + (f" ({'; '.join(notices)})" if notices else ""))
            else:
                self._bars.say(f"{name}: {status}")
        self._bars.draw(force=kind != "bytes")

    def _stop_bars(self) -> None:
        if self._bars is not None:
            self._bars.stop()
            self._bars = None
