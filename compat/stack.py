"""A local wharf stack for the run, started the way the end-to-end tests start it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# The end-to-end tests' own launcher: one way to start `wharf-serve` and wait for it.
from tests.e2e.conftest import BIN, Stack, start_stack


class StackError(Exception):
    """The stack or the wharf client did not do what the run needs."""


class StackDied(StackError):
    """The stack exited while the run still used it (killed from outside, or crashed)."""


def client_env(stack: Stack, token: str) -> dict[str, str]:
    """The environment for a `wharf` command: this stack, this token, no ~/.pypirc."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WHARF_", "TWINE_"))}
    env.update(WHARF_URL=stack.url, WHARF_TOKEN=token, PYPIRC=os.devnull)
    return env


def create_token(stack: Stack, role: str) -> str:
    """A new token of ``role`` (upload tokens may publish any project), made with the CLI."""
    args = [str(BIN / "wharf"), "token", "create", "--role", role, "--json"]
    if role == "upload":
        args += ["--project", "*"]
    args += ["--description", f"compat run ({role})"]
    result = subprocess.run(
        args, env=client_env(stack, stack.admin_token), capture_output=True, text=True, timeout=60
    )
    if result.returncode != 0:
        raise StackError(f"wharf token create --role {role}: {result.stderr.strip()}")
    return str(json.loads(result.stdout)["token"])


def rss_bytes(pid: int) -> int:
    """A process's resident memory (Linux /proc), or 0 where it cannot be read."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return 0
    return 0


class MemoryWatch:
    """Samples the stack's resident memory; past ``limit`` it stops the stack, so that one
    run cannot take a shared machine's memory (the kernel would kill someone else's work).

    Sleeps between samples rather than waiting on an event with a timeout: the suite and the
    local stack also run under libfaketime, where timed waits hang.
    """

    def __init__(self, process: subprocess.Popen, limit: int, period: float = 1.0) -> None:
        self.peak = 0
        self.last = 0
        self.tripped: str | None = None
        self.died: str | None = None
        self._process = process
        self._limit = limit
        self._period = period
        self._done = False
        self._thread = threading.Thread(target=self._watch, name="stack-memory", daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._done:
            if self._process.poll() is not None:
                if not self._done:
                    self.died = f"the stack exited (code {self._process.returncode}) while in use"
                return
            rss = rss_bytes(self._process.pid)
            self.last, self.peak = rss, max(self.peak, rss)
            if rss > self._limit:
                self.tripped = (
                    f"the stack used {rss / 2**30:.1f} GiB of memory (limit "
                    f"{self._limit / 2**30:.1f} GiB, --max-stack-memory); it was stopped"
                )
                self._process.send_signal(signal.SIGKILL)
                return
            time.sleep(self._period)

    def stop(self) -> None:
        self._done = True

    def check(self) -> None:
        """Raise ``StackError`` once the limit was passed, ``StackDied`` once the stack
        exited on its own."""
        if self.tripped:
            raise StackError(self.tripped)
        if self.died:
            raise StackDied(self.died)


@contextmanager
def running(workdir: Path, *, memory_limit: int) -> Iterator[tuple[Stack, MemoryWatch]]:
    """A fresh stack (all state in memory) and its memory watch, for the block."""
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        stack = start_stack(workdir, admin_token=None)
    except AssertionError as error:
        raise StackError(str(error)) from None
    watch = MemoryWatch(stack.process, memory_limit)
    try:
        yield stack, watch
    except Exception:
        if stack.process.poll() is not None and not watch.tripped:
            watch.died = f"the stack exited (code {stack.process.returncode}) while in use"
        watch.check()  # whatever failed next, the stack's end is the reason
        raise
    finally:
        watch.stop()
        try:
            stack.stop()
        except subprocess.TimeoutExpired:
            # stop() killed it: moto holding hundreds of MB can outlast its 20 s grace.
            stack.process.wait()
