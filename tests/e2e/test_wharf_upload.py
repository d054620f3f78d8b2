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
    assert any(e["event"] == "session" and not e["created"] for e in events)
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
        session, _ = client.open_session("e2e-stale", "1.0")
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
        urls, _ = client.urls(parts_url, [1, 2])
        time.sleep(2.5)
        assert requests.put(urls[1], data=b"x", timeout=30).status_code == 403  # S3 refuses it
        uploader = PartUploader(client, requests.Session(), parts_url, dist, 5 * MiB)
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


def run(stack, token, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN / "wharf"), *args],
        env=wharf_env(stack, token),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def index_files(stack, project: str) -> dict[str, str]:
    reply = requests.get(
        f"{stack.url}/simple/{project}/",
        auth=("__token__", stack.admin_token),
        headers={"Accept": "application/vnd.pypi.simple.v1+json"},
        timeout=30,
    )
    if reply.status_code == 404:
        return {}
    return {f["filename"]: f["hashes"]["sha256"] for f in reply.json()["files"]}


def sessions_of(stack, token, project: str) -> list[dict]:
    listed = json.loads(run(stack, token, "session", "list", "--json").stdout)
    return [s for s in listed["sessions"] if s["name"] == project]


def test_rerun_of_a_published_release_and_skip_existing(stack, upload_token, tmp_path):
    (tmp_path / "a").mkdir()
    a = big_wheel(tmp_path / "a", "e2e-skip", "1.0", 0)
    b = tmp_path / "e2e_skip-1.0-py2-none-any.whl"
    b.write_bytes(a.read_bytes())
    first = run(stack, upload_token, "upload", str(a))
    assert first.returncode == 0, first.stderr

    again = run(stack, upload_token, "upload", str(a))
    assert again.returncode == 0, again.stderr
    assert "e2e-skip 1.0 is already published with these 1 file(s); nothing to upload" in (
        again.stdout
    )
    assert sessions_of(stack, upload_token, "e2e-skip") == []  # no session opened

    mixed = run(stack, upload_token, "upload", str(a), str(b))
    assert mixed.returncode == 1
    assert "1 of these files are already published" in mixed.stderr
    assert "pass --skip-existing" in mixed.stderr
    assert list(index_files(stack, "e2e-skip")) == [a.name]
    assert sessions_of(stack, upload_token, "e2e-skip") == []

    skipping = run(stack, upload_token, "upload", "--skip-existing", str(a), str(b))
    assert skipping.returncode == 0, skipping.stderr
    assert f"{a.name}: already published" in skipping.stdout
    # The published release gained a file through a new session, as on PyPI.
    assert index_files(stack, "e2e-skip") == {
        a.name: sha256(a.read_bytes()),
        b.name: sha256(b.read_bytes()),
    }

    other = tmp_path / "other"
    other.mkdir()
    changed = big_wheel(other, "e2e-skip", "1.0", 0)  # same name, other bytes
    refused = run(stack, upload_token, "upload", "--skip-existing", str(changed))
    assert refused.returncode == 1
    assert f"already published with other contents: {a.name}" in refused.stderr
    assert index_files(stack, "e2e-skip")[a.name] == sha256(a.read_bytes())


def test_ctrl_c_stops_at_once_keeps_the_session_and_the_rerun_resumes(
    stack, upload_token, tmp_path
):
    wheel = big_wheel(tmp_path, "e2e-sigint", "1.0", 40)
    part, concurrency = 5 * MiB, 2
    command = [
        str(BIN / "wharf"),
        "upload",
        "--json",
        "--concurrency",
        str(concurrency),
        "--part-size",
        str(part),
        str(wheel),
    ]
    first = subprocess.Popen(
        command,
        env=wharf_env(stack, upload_token),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert first.stdout is not None
    counted = 0
    for line in first.stdout:
        event = json.loads(line)
        if event["event"] == "bytes":
            counted += event["bytes"]
            if counted >= 2 * part:
                interrupted_at = time.monotonic()
                first.send_signal(signal.SIGINT)
                break
    rest, err = first.communicate(timeout=30)
    assert first.returncode == 130
    assert time.monotonic() - interrupted_at < 5  # no waiting for parts or validation
    assert err == ""
    events = [json.loads(line) for line in rest.splitlines()]
    counted += sum(e["bytes"] for e in events if e["event"] == "bytes")
    (stopped,) = [e for e in events if e["event"] == "interrupted"]
    token = stopped["session"]
    assert "`wharf session cancel e2e-sigint 1.0`" in stopped["message"]
    assert token not in stopped["message"]  # the whole token is the stage's credential
    assert "Run the same command again to resume" in stopped["message"]
    (kept,) = sessions_of(stack, upload_token, "e2e-sigint")
    assert (kept["session-token"], kept["status"], kept["file-count"]) == (token, "open", 1)

    second = subprocess.run(
        command, env=wharf_env(stack, upload_token), capture_output=True, text=True, timeout=600
    )
    assert second.returncode == 0, second.stderr
    events = [json.loads(line) for line in second.stdout.splitlines()]
    assert [(e["session"], e["created"]) for e in events if e["event"] == "session"] == [
        (token, False)
    ]
    resume = next(e for e in events if e["event"] == "resume")
    assert resume["held_parts"] * part >= counted
    resent = sum(e["bytes"] for e in events if e["event"] == "bytes" and not e.get("resumed"))
    size = wheel.stat().st_size
    # Sent twice: at most the parts that were in flight when Ctrl-C came.
    assert counted + resent <= size + concurrency * part, (counted, resent, size)
    assert resent < size
    assert any(e["event"] == "published" for e in events)
    assert index_files(stack, "e2e-sigint") == {wheel.name: sha256(wheel.read_bytes())}


def test_sigterm_from_a_ci_runner_is_ctrl_c_and_the_advice_works(stack, upload_token, tmp_path):
    wheel = big_wheel(tmp_path, "e2e-sigterm", "1.0", 30)
    process = subprocess.Popen(
        [str(BIN / "wharf"), "upload", "--concurrency", "1", "--part-size", str(5 * MiB), wheel],
        env=wharf_env(stack, upload_token),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    for line in process.stdout:
        if "10%" in line:
            process.send_signal(signal.SIGTERM)
            break
    _, err = process.communicate(timeout=30)
    assert process.returncode == 130
    (message,) = [line for line in err.splitlines() if line]
    assert message.startswith("wharf: interrupted: kept session ")
    cancel = message.split("`")[1]
    assert cancel.startswith("wharf session cancel ")
    canceled = run(stack, upload_token, *cancel.split()[1:])
    assert canceled.returncode == 0, canceled.stderr
    assert ": canceled" in canceled.stdout
    assert sessions_of(stack, upload_token, "e2e-sigterm") == []


def test_plain_progress_lines_when_output_is_not_a_terminal(stack, upload_token, tmp_path):
    wheel = big_wheel(tmp_path, "e2e-plain", "1.0", 12)
    result = run(stack, upload_token, "upload", "--part-size", str(5 * MiB), str(wheel))
    assert result.returncode == 0, result.stderr
    assert "\x1b" not in result.stdout and "\r" not in result.stdout
    lines = result.stdout.splitlines()
    assert lines[0].startswith("opened session ") and lines[0].endswith(" for e2e-plain 1.0")
    assert lines[1] == f"{wheel.name}: uploading 12.0 MiB (vnd-wharf-s3multipart-presigned-v1)"
    percents = [line for line in lines if line.startswith(f"{wheel.name}: ") and "% (" in line]
    assert len(percents) == 2  # parts of 5, 5 and 2 MiB: past 40% and past 80%
    assert any(line.startswith(f"{wheel.name}: sent 12.0 MiB in ") for line in lines)
    assert f"{wheel.name}: completed" in lines
    assert lines[-1].startswith("published e2e-plain 1.0: 1 file(s) of yours")


def test_every_error_is_json_under_json(stack, upload_token, tmp_path):
    wheel = big_wheel(tmp_path, "other-project", "1.0", 0)
    denied = run(stack, upload_token, "upload", "--json", str(wheel))
    assert denied.returncode == 1
    assert denied.stderr == ""
    error = json.loads(denied.stdout.splitlines()[-1])
    assert error["event"] == "error"
    assert (error["status"], error["type"]) == (403, "urn:wharf:problem:permission-denied")
    assert (error["project"], error["version"]) == ("other-project", "1.0")

    admin_only = run(stack, upload_token, "token", "list", "--json")
    assert admin_only.returncode == 1 and admin_only.stderr == ""
    assert json.loads(admin_only.stdout)["message"].startswith(
        "`wharf token list` needs an admin token"
    )
    missing = run(stack, upload_token, "upload", "--json", str(tmp_path / "nope.whl"))
    assert missing.returncode == 1 and missing.stderr == ""
    assert json.loads(missing.stdout) == {
        "event": "error",
        "message": f"{tmp_path}/nope.whl: no such file",
    }
    usage = run(stack, upload_token, "upload", "--json")
    assert usage.returncode == 2 and usage.stderr == ""
    assert json.loads(usage.stdout)["event"] == "error"


def test_admin_commands_with_a_non_admin_token_say_what_is_needed(stack, upload_token):
    for args in (
        ("yank", "1.0", "--project", "e2e-big"),
        ("unyank", "1.0", "--project", "e2e-big"),
        ("project", "status", "e2e-big", "deprecated"),
        ("token", "create", "--role", "read"),
    ):
        result = run(stack, upload_token, *args)
        assert result.returncode == 1
        command = " ".join(args[:2] if args[0] in ("project", "token") else args[:1])
        assert result.stderr.startswith(f"wharf: `wharf {command}` needs an admin token"), (
            result.stderr
        )
        assert "wharf token create --role admin" in result.stderr


def test_url_mistakes_are_explained_and_never_echo_the_token(stack, upload_token):
    env = wharf_env(stack, upload_token)
    for suffix in ("/simple/", "/upload/", "/legacy/"):
        env["WHARF_URL"] = stack.url + suffix
        result = subprocess.run(
            [str(BIN / "wharf"), "session", "list"], env=env, capture_output=True, text=True
        )
        assert result.returncode == 1
        assert "points at the" in result.stderr and f"use {stack.url}\n" in result.stderr
        assert upload_token not in result.stdout + result.stderr
    del env["WHARF_URL"]
    unset = subprocess.run(
        [str(BIN / "wharf"), "token", "list"], env=env, capture_output=True, text=True
    )
    assert unset.returncode == 1
    assert unset.stderr.startswith("wharf: no server URL: set WHARF_URL or pass --url")


def test_session_list_shows_open_sessions(stack, upload_token, tmp_path):
    wheel = big_wheel(tmp_path, "e2e-listed", "2.0", 0)
    staged = run(stack, upload_token, "upload", "--stage", "--json", str(wheel))
    assert staged.returncode == 0, staged.stderr
    token = json.loads(staged.stdout.splitlines()[-1])["session"]
    listed = run(stack, upload_token, "session", "list", "--mine")
    assert listed.returncode == 0, listed.stderr
    header, *rows = listed.stdout.splitlines()
    assert header.split() == ["ID", "NAME", "VERSION", "STATUS", "FILES", "EXPIRES", "YOURS"]
    row = next(r.split() for r in rows if r.startswith(token))
    assert row[1:5] == ["e2e-listed", "2.0", "open", "1"] and row[-1] == "yes"
    others = run(stack, stack.admin_token, "session", "list", "--mine")
    assert token not in others.stdout  # the admin sees it, but did not create it
    assert token in run(stack, stack.admin_token, "session", "list").stdout
    status = run(stack, upload_token, "session", "status", "e2e_listed", "2.0.0")
    assert status.returncode == 0 and status.stdout.startswith(f"session {token}: open")
    assert run(stack, upload_token, "session", "cancel", token).returncode == 0
    assert token not in run(stack, upload_token, "session", "list").stdout
