"""pip and uv install from the wharf index the run published to, into throwaway targets."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from tests.e2e.conftest import BIN, Stack

from .catalog import Install
from .model import InstallResult


def index_url(stack: Stack, token: str) -> str:
    return f"http://__token__:{token}@{stack.url.removeprefix('http://')}/simple/"


def _command(tool: str, spec: Install, url: str, target: Path) -> list[str]:
    if tool == "pip":
        return [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-cache-dir",
            "--disable-pip-version-check",
            "--target",
            str(target),
            "--index-url",
            url,
            *spec.args,
            *spec.requirements,
        ]
    return [
        str(BIN / "uv"),
        "pip",
        "install",
        "--python",
        sys.executable,
        "--target",
        str(target),
        "--index-url",
        url,
        *spec.args,
        *spec.requirements,
    ]


def _last_lines(text: str, token: str, count: int = 4) -> str:
    lines = [line.strip() for line in text.replace(token, "***").splitlines() if line.strip()]
    return " | ".join(lines[-count:])


def installed(target: Path) -> list[str]:
    """The distributions in ``target``, as name-version from their .dist-info directories."""
    return sorted(p.name.removesuffix(".dist-info") for p in target.glob("*.dist-info"))


def run_install(
    tool: str, spec: Install, stack: Stack, token: str, target: Path, uv_cache: Path
) -> InstallResult:
    """Install ``spec`` with ``tool`` into a fresh ``target`` and run its check there."""
    shutil.rmtree(target, ignore_errors=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_", "WHARF_"))}
    # Only wharf's index: no pip.conf (this machine's adds local mirrors and constraints),
    # no uv.toml, no PIP_*/UV_* settings from the caller.
    env.update(
        UV_CACHE_DIR=str(uv_cache), UV_NO_CONFIG="1", PIP_CONFIG_FILE=os.devnull, PIP_NO_INPUT="1"
    )
    started = time.monotonic()
    result = subprocess.run(
        _command(tool, spec, index_url(stack, token), target),
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    if result.returncode != 0:
        return InstallResult(
            spec.name,
            tool,
            False,
            time.monotonic() - started,
            _last_lines(result.stderr + result.stdout, token),
        )
    if spec.check:
        # -S: only the target (and the stdlib) is importable, never this venv's packages.
        check = subprocess.run(
            [sys.executable, "-S", "-c", spec.check],
            env={**env, "PYTHONPATH": str(target)},
            cwd=target,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if check.returncode != 0:
            return InstallResult(
                spec.name,
                tool,
                False,
                time.monotonic() - started,
                "installed, but the check failed: " + _last_lines(check.stderr, token),
            )
    return InstallResult(
        spec.name, tool, True, time.monotonic() - started, ", ".join(installed(target))
    )
