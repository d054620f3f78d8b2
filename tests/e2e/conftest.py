"""The local stack as a subprocess (`wharf-serve`), talked to over real HTTP."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Stack:
    url: str
    admin_token: str
    moto_url: str
    process: subprocess.Popen
    log_path: Path
    state_dir: Path

    def log(self) -> str:
        return self.log_path.read_text()

    def wait_for_log(self, needle: str, timeout: float = 20) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.log()
            if needle in text:
                return text
            time.sleep(0.2)
        raise AssertionError(f"{needle!r} never appeared in the stack's output:\n{self.log()}")

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                return self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                raise
        return self.process.returncode


def start_stack(
    tmp: Path,
    *,
    admin_token: str | None,
    extra_env: dict[str, str] | None = None,
    port: int | None = None,
) -> Stack:
    port = port or free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "WHARF_"))}
    env.update(WHARF_PORT=str(port), WHARF_STATE_DIR=str(tmp / "state"), PYTHONUNBUFFERED="1")
    if admin_token:
        env["WHARF_ADMIN_TOKEN"] = admin_token
    env.update(extra_env or {})
    log_path = tmp / "stack.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [str(BIN / "wharf-serve")], env=env, stdout=log, stderr=subprocess.STDOUT
        )
    # A stack given a certificate serves https; SSL_CERT_FILE names the CA that signed it.
    tls = "WHARF_TLS_CERT" in env
    url = f"{'https' if tls else 'http'}://127.0.0.1:{port}"
    verify: bool | str = env.get("SSL_CERT_FILE", True) if tls else True
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the stack exited early:\n{log_path.read_text()}")
        text = log_path.read_text()
        if "Stop with Ctrl-C" in text:
            try:
                requests.get(url + "/simple/", timeout=2, verify=verify)
                break
            except requests.ConnectionError:
                pass
        time.sleep(0.2)
    else:
        process.kill()
        raise AssertionError(f"the stack did not start:\n{log_path.read_text()}")
    moto_url = re.search(r"moto \(AWS\)\s*:\s*(\S+)", text).group(1)
    token = (tmp / "state" / "admin-token").read_text().strip()
    return Stack(url, token, moto_url, process, log_path, tmp / "state")


@pytest.fixture(scope="session")
def stack(tmp_path_factory) -> Iterator[Stack]:
    running = start_stack(tmp_path_factory.mktemp("stack"), admin_token="wharf_e2e-admin-secret")
    yield running
    running.stop()


def run_wharf(stack: Stack, *args: str, token: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WHARF_")}
    env.update(WHARF_URL=stack.url, WHARF_TOKEN=token or stack.admin_token)
    return subprocess.run(
        [str(BIN / "wharf"), *args], env=env, capture_output=True, text=True, timeout=60
    )
