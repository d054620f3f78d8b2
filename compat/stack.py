"""A local wharf stack for the run, started the way the end-to-end tests start it."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# The end-to-end tests' own launcher: one way to start `wharf-serve` and wait for it.
from tests.e2e.conftest import BIN, Stack, start_stack


class StackError(Exception):
    """The stack or the wharf client did not do what the run needs."""


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


@contextmanager
def running(workdir: Path) -> Iterator[Stack]:
    """A fresh stack (all state in memory) for the duration of the block."""
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        stack = start_stack(workdir, admin_token=None)
    except AssertionError as error:
        raise StackError(str(error)) from None
    try:
        yield stack
    finally:
        try:
            stack.stop()
        except subprocess.TimeoutExpired:
            # stop() killed it: moto holding hundreds of MB can outlast its 20 s grace.
            stack.process.wait()
