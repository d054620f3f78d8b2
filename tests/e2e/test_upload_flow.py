"""Upload 2.0 over real HTTP against the local stack: S3 events really drive the validator."""

from __future__ import annotations

import time

import pytest
import requests

from tests.builders import sdist_bytes, sha256, wheel_bytes
from tests.e2e.conftest import run_wharf, start_stack

pytestmark = pytest.mark.e2e
V2 = "application/vnd.pypi.upload.v2+json"
META = {"api-version": "2.0"}


@pytest.fixture(scope="module")
def upload_token(stack) -> str:
    created = run_wharf(
        stack, "token", "create", "--role", "upload", "--project", "e2e-*", "--json"
    )
    assert created.returncode == 0, created.stderr
    import json

    return json.loads(created.stdout)["token"]


def call(token, method, url, body=None, **kwargs):
    headers = kwargs.pop("headers", {})
    if body is not None:
        headers["Content-Type"] = V2
        kwargs["json"] = body
    return requests.request(
        method, url, auth=("__token__", token), headers=headers, timeout=30, **kwargs
    )


def poll_until(token, url, wanted, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        reply = call(token, "GET", url)
        if reply.json()["status"] in wanted:
            return reply.json()
        time.sleep(float(reply.headers.get("Retry-After", "1")) / 4)
    raise AssertionError(f"{url} never reached {wanted}: {reply.json()}")


def upload(token, session, filename, data):
    file = call(
        token,
        "POST",
        session["links"]["upload"],
        {
            "meta": META,
            "filename": filename,
            "size": len(data),
            "hashes": {"sha256": sha256(data)},
            "mechanism": "http-post-bytes",
        },
    )
    assert file.status_code == 202, file.text
    sent = call(
        token,
        "POST",
        file.json()["mechanism"]["file_url"],
        data=data,
        headers={"Content-Type": "application/octet-stream"},
    )
    assert sent.status_code == 204, sent.text
    done = call(token, "POST", file.json()["links"]["complete"], {"meta": META})
    assert done.status_code == 202, done.text
    assert done.headers["Location"] == file.json()["links"]["file-upload-session"]
    return file.json()


def test_session_upload_validate_delete_cancel(stack, upload_token):
    name, version = "e2e-flow", "1.0"
    created = call(
        upload_token,
        "POST",
        f"{stack.url}/upload/",
        {"meta": META, "name": name, "version": version},
    )
    assert created.status_code == 201, created.text
    session = created.json()
    wheel = wheel_bytes("e2e_flow", version)
    sdist = sdist_bytes("e2e_flow", version)
    wheel_file = upload(upload_token, session, "e2e_flow-1.0-py3-none-any.whl", wheel)
    sdist_file = upload(upload_token, session, "e2e_flow-1.0.tar.gz", sdist)
    for file in (wheel_file, sdist_file):
        status = poll_until(
            upload_token, file["links"]["file-upload-session"], {"completed", "error"}
        )
        assert status["status"] == "completed", status
    files = call(upload_token, "GET", session["links"]["session"]).json()["files"]
    assert {k: v["status"] for k, v in files.items()} == {
        "e2e_flow-1.0-py3-none-any.whl": "completed",
        "e2e_flow-1.0.tar.gz": "completed",
    }

    deleted = call(upload_token, "DELETE", sdist_file["links"]["file-upload-session"])
    assert deleted.status_code == 204
    files = call(upload_token, "GET", session["links"]["session"]).json()["files"]
    assert list(files) == ["e2e_flow-1.0-py3-none-any.whl"]
    own = call(upload_token, "GET", sdist_file["links"]["file-upload-session"]).json()
    assert own["status"] == "canceled"

    canceled = call(upload_token, "DELETE", session["links"]["session"])
    assert canceled.status_code == 200
    assert call(upload_token, "GET", session["links"]["session"]).json()["status"] == "canceled"
    for url, body in [
        (session["links"]["upload"], {"meta": META}),
        (wheel_file["links"]["complete"], {"meta": META}),
        (session["links"]["extend"], {"meta": META, "extend-for": 60}),
    ]:
        assert call(upload_token, "POST", url, body).status_code == 404, url
    bytes_reply = call(
        upload_token,
        "POST",
        wheel_file["mechanism"]["file_url"],
        data=b"x",
        headers={"Content-Type": "application/octet-stream"},
    )
    assert bytes_reply.status_code == 404


def test_bad_wheel_ends_in_error_with_notice(stack, upload_token):
    created = call(
        upload_token,
        "POST",
        f"{stack.url}/upload/",
        {"meta": META, "name": "e2e-bad", "version": "2.0"},
    )
    session = created.json()
    data = wheel_bytes("e2e_bad", "2.0") + b"trailing garbage"
    file = upload(upload_token, session, "e2e_bad-2.0-py3-none-any.whl", data)
    status = poll_until(upload_token, file["links"]["file-upload-session"], {"completed", "error"})
    assert status["status"] == "error"
    assert any("after the end of its zip archive" in n for n in status["notices"])


def test_scheduler_runs_in_the_local_stack(tmp_path):
    # A sweep that finds nothing logs at DEBUG only, so `make serve` stays quiet (issue 14).
    local = start_stack(tmp_path, admin_token=None, extra_env={"POWERTOOLS_LOG_LEVEL": "DEBUG"})
    try:
        local.wait_for_log("expired sessions swept", timeout=20)
    finally:
        local.stop()
