"""`wharf upload` against the local stack (and a legacy-only pypiserver)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.builders import metadata_text, sha256, wheel_bytes
from tests.e2e.conftest import BIN, free_port, run_wharf, start_stack

pytestmark = pytest.mark.e2e
MiB = 1024 * 1024
V2 = "application/vnd.pypi.upload.v2+json"
META = {"api-version": "2.0"}


def big_wheel(path: Path, name: str, version: str, mib: int) -> Path:
    data = wheel_bytes(
        name.replace("-", "_"),
        version,
        metadata=metadata_text(name, version),
        files={f"{name.replace('-', '_')}/blob.bin": os.urandom(mib * MiB)},
    )
    target = path / f"{name.replace('-', '_')}-{version}-py3-none-any.whl"
    target.write_bytes(data)
    return target


@pytest.fixture(scope="module")
def upload_token(stack) -> str:
    created = run_wharf(
        stack, "token", "create", "--role", "upload", "--project", "e2e-*", "--json"
    )
    return json.loads(created.stdout)["token"]


def wharf_env(stack, token):
    env = {k: v for k, v in os.environ.items() if not k.startswith("WHARF_")}
    env.update(WHARF_URL=stack.url, WHARF_TOKEN=token, PYPIRC="/nonexistent")
    return env


def test_sixty_mib_wheel_by_multipart_then_pip_installs(stack, upload_token, tmp_path):
    wheel = big_wheel(tmp_path, "e2e-big", "1.0", 60)
    result = subprocess.run(
        [str(BIN / "wharf"), "upload", "--json", str(wheel)],
        env=wharf_env(stack, upload_token),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    starts = [e for e in events if e["event"] == "file-start"]
    assert starts[0]["mechanism"] == "vnd-wharf-s3multipart-presigned-v1"
    assert sum(e["bytes"] for e in events if e["event"] == "bytes") == wheel.stat().st_size
    assert any(e["event"] == "published" for e in events)
    host = stack.url.removeprefix("http://")
    installed = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-cache-dir",
            "--target",
            str(tmp_path / "site"),
            "--index-url",
            f"http://__token__:{upload_token}@{host}/simple/",
            "e2e-big",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert installed.returncode == 0, installed.stderr
    assert (tmp_path / "site" / "e2e_big" / "blob.bin").stat().st_size == 60 * MiB


def test_killed_upload_resumes_resending_at_most_one_part(stack, upload_token, tmp_path):
    wheel = big_wheel(tmp_path, "e2e-resume", "1.0", 40)
    part = 5 * MiB
    command = [
        str(BIN / "wharf"),
        "upload",
        "--json",
        "--concurrency",
        "1",
        "--part-size",
        str(part),
        "--stage",
        str(wheel),
    ]
    first = subprocess.Popen(
        command, env=wharf_env(stack, upload_token), stdout=subprocess.PIPE, text=True
    )
    sent_first = 0
    parts_seen = 0
    assert first.stdout is not None
    for line in first.stdout:
        event = json.loads(line)
        if event["event"] == "bytes":
            sent_first += event["bytes"]
            parts_seen += 1
            if parts_seen == 3:
                first.send_signal(signal.SIGKILL)
                break
    first.wait(timeout=30)
    second = subprocess.run(
        command, env=wharf_env(stack, upload_token), capture_output=True, text=True, timeout=600
    )
    assert second.returncode == 0, second.stderr
    events = [json.loads(line) for line in second.stdout.splitlines()]
    assert any(e["event"] == "session" and e["resumed"] for e in events)
    resume = next(e for e in events if e["event"] == "resume")
    assert resume["held_parts"] >= 3
    resent = sum(e["bytes"] for e in events if e["event"] == "bytes" and not e.get("resumed"))
    size = wheel.stat().st_size
    # What the second run sent beyond what was missing is at most one part.
    assert resent + sent_first <= size + part, (resent, sent_first, size)
    assert any(e["event"] == "staged" for e in events)


def test_corrupted_part_ends_in_hash_mismatch(stack, upload_token, tmp_path):
    wheel = big_wheel(tmp_path, "e2e-corrupt", "1.0", 12)
    data = wheel.read_bytes()
    auth = ("__token__", upload_token)
    session = requests.post(
        f"{stack.url}/upload/",
        json={"meta": META, "name": "e2e-corrupt", "version": "1.0"},
        auth=auth,
        headers={"Content-Type": V2},
        timeout=30,
    ).json()
    file = requests.post(
        session["links"]["upload"],
        json={
            "meta": {**META, "_wharf": {"part-size": 5 * MiB}},
            "filename": wheel.name,
            "size": len(data),
            "hashes": {"sha256": sha256(data)},
            "mechanism": "vnd-wharf-s3multipart-presigned-v1",
        },
        auth=auth,
        headers={"Content-Type": V2},
        timeout=30,
    ).json()
    mechanism = file["mechanism"]
    numbers = list(range(1, mechanism["part_count"] + 1))
    urls = requests.post(
        mechanism["parts_url"],
        json={"meta": META, "parts": numbers},
        auth=auth,
        headers={"Content-Type": V2},
        timeout=30,
    ).json()["urls"]
    for n in numbers:
        chunk = bytearray(data[(n - 1) * 5 * MiB : n * 5 * MiB])
        if n == 2:
            chunk[100] ^= 0xFF  # flipped in transit
        assert requests.put(urls[str(n)], data=bytes(chunk), timeout=60).status_code == 200
    requests.post(
        file["links"]["complete"],
        json={"meta": META},
        auth=auth,
        headers={"Content-Type": V2},
        timeout=30,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        status = requests.get(file["links"]["file-upload-session"], auth=auth, timeout=30).json()
        if status["status"] in ("completed", "error"):
            break
        time.sleep(0.2)
    assert status["status"] == "error"
    assert "hash-mismatch: the sha256 digest does not match the one declared" in status["notices"]


def test_stale_presigned_url_is_refused_and_renewed(tmp_path):
    stack = start_stack(
        tmp_path, admin_token="wharf_e2e-stale", extra_env={"WHARF_PART_URL_SECONDS": "1"}
    )
    try:
        from wharf_cli.dists import inspect
        from wharf_cli.progress import Reporter
        from wharf_cli.upload2 import PartUploader, Upload2

        wheel = big_wheel(tmp_path, "e2e-stale", "1.0", 6)
        auth = ("__token__", stack.admin_token)
        events = []

        class Recorder(Reporter):
            def event(self, kind, **fields):
                events.append((kind, fields))

        client = Upload2(stack.url, auth, Recorder("json"))
        session = client.open_session("e2e-stale", "1.0")
        dist = inspect(wheel)
        file = client.call(
            "POST",
            session["links"]["upload"],
            {
                "meta": {**META, "_wharf": {"part-size": 5 * MiB}},
                "filename": dist.filename,
                "size": dist.size,
                "hashes": {"sha256": dist.sha256},
                "mechanism": "vnd-wharf-s3multipart-presigned-v1",
            },
        ).json()
        parts_url = file["mechanism"]["parts_url"]
        urls, _ = client._urls(parts_url, [1, 2])
        time.sleep(2.5)
        assert requests.put(urls[1], data=b"x", timeout=30).status_code == 403  # S3 refuses it
        uploader = PartUploader(
            client, requests.Session(), parts_url, dist, 5 * MiB, Recorder("json")
        )
        for n in (1, 2):
            uploader.put(n, urls[n])
        assert [k for k, _ in events].count("url-refreshed") >= 2
        held = client.call("GET", parts_url).json()["parts"]
        assert [p["number"] for p in held] == [1, 2]
    finally:
        stack.stop()


def test_fallback_to_a_legacy_only_server(tmp_path):
    from tests.e2e.test_install import lib_wheel

    packages = tmp_path / "packages"
    packages.mkdir()
    port = free_port()
    server = subprocess.Popen(
        [
            str(BIN / "pypi-server"),
            "run",
            "-p",
            str(port),
            "-i",
            "127.0.0.1",
            "-P",
            ".",
            "-a",
            ".",
            str(packages),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                requests.get(base + "/simple/", timeout=2)
                break
            except requests.ConnectionError:
                time.sleep(0.2)
        wheel = tmp_path / "e2e_lib-1.0-py3-none-any.whl"
        wheel.write_bytes(lib_wheel("1.0"))
        env = {k: v for k, v in os.environ.items() if not k.startswith("WHARF_")}
        env.update(PYPIRC="/nonexistent")
        result = subprocess.run(
            [str(BIN / "wharf"), "upload", "--url", base, "--token", "anything", str(wheel)],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert "legacy API" in result.stdout
        installed = subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "--no-cache-dir",
                "--target",
                str(tmp_path / "site"),
                "--index-url",
                f"{base}/simple/",
                "e2e-lib",
            ],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert installed.returncode == 0, installed.stderr
        assert (tmp_path / "site" / "e2e_lib" / "__init__.py").exists()
    finally:
        server.terminate()
        server.wait(timeout=10)
