"""Upload separate from publish, end to end (issue 15): CI stages with an upload-only
token, the stage installs with pip, a release manager publishes with `wharf session
publish`; the audit trail shows every step in order, with who took it."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import requests

from tests.builders import metadata_text, wheel_bytes
from tests.e2e.conftest import run_wharf

pytestmark = pytest.mark.e2e
PROJECT, VERSION = "relman-tools", "1.0"
WHEEL = f"relman_tools-{VERSION}-py3-none-any.whl"


def token(stack, *args: str) -> dict:
    created = run_wharf(stack, "token", "create", *args, "--json")
    assert created.returncode == 0, created.stderr
    return json.loads(created.stdout)


def test_ci_stages_a_person_publishes_and_the_trail_shows_both(stack, tmp_path):
    ci = token(stack, "--role", "upload", "--project", "relman-*", "--no-publish")
    manager = token(stack, "--role", "upload", "--project", "relman-*")
    assert ci["permissions"] == ["upload"]
    listed = run_wharf(stack, "token", "list")
    ci_row = next(line for line in listed.stdout.splitlines() if line.startswith(ci["id"]))
    assert ci_row.split()[1:3] == ["upload", "upload"]  # role, permissions

    wheel = tmp_path / WHEEL
    wheel.write_bytes(
        wheel_bytes(
            "relman_tools",
            VERSION,
            metadata=metadata_text(PROJECT, VERSION),
            files={"relman_tools/__init__.py": b"STAGED = True\n"},
        )
    )
    staged = run_wharf(stack, "upload", "--stage", str(wheel), token=ci["token"])
    assert staged.returncode == 0, staged.stderr

    # The stage installs with pip, without credentials.
    stage_url = run_wharf(stack, "session", "stage-url", PROJECT, VERSION, token=ci["token"])
    assert stage_url.returncode == 0, stage_url.stderr
    target = tmp_path / "site"
    pip = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-cache-dir",
            "--disable-pip-version-check",
            "--target",
            str(target),
            "--index-url",
            stage_url.stdout.strip(),
            f"{PROJECT}=={VERSION}",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={k: v for k, v in os.environ.items() if not k.startswith("PIP_")},
    )
    assert pip.returncode == 0, pip.stderr
    assert (target / "relman_tools" / "__init__.py").read_text() == "STAGED = True\n"

    # CI may not publish: 403 naming the permission, and the session stays open.
    refused = run_wharf(stack, "session", "publish", PROJECT, VERSION, token=ci["token"])
    assert refused.returncode == 1
    assert "HTTP 403" in refused.stderr and "'publish' permission" in refused.stderr
    status = run_wharf(stack, "session", "status", PROJECT, VERSION, "--json", token=ci["token"])
    assert json.loads(status.stdout)["status"] == "open"
    as_json = run_wharf(stack, "session", "publish", PROJECT, VERSION, "--json", token=ci["token"])
    error = json.loads(as_json.stdout.splitlines()[-1])
    assert error["type"] == "urn:wharf:problem:missing-permission"
    assert error["errors"][0]["message"] == "publish"

    published = run_wharf(stack, "session", "publish", PROJECT, VERSION, token=manager["token"])
    assert published.returncode == 0, published.stderr
    assert "published" in published.stdout
    page = requests.get(
        f"{stack.url}/simple/{PROJECT}/",
        auth=("__token__", manager["token"]),
        headers={"Accept": "application/vnd.pypi.simple.v1+json"},
        timeout=30,
    ).json()
    assert [f["filename"] for f in page["files"]] == [WHEEL]
    assert page["_wharf-published-by"] == {VERSION: {"token_id": manager["id"]}}

    trail = run_wharf(stack, "audit", "--project", PROJECT, "--oldest-first", "--json")
    assert trail.returncode == 0, trail.stderr
    steps = [(e["kind"], e["actor"]) for e in json.loads(trail.stdout)]
    assert steps == [
        ("session.opened", ci["id"]),
        ("file.completed", ci["id"]),
        ("permission.denied", ci["id"]),
        ("permission.denied", ci["id"]),
        ("release.publish-requested", manager["id"]),
        ("release.published", manager["id"]),
    ]
    # Both tokens were created by the stack's admin, whose own token was imported at start.
    by_bootstrap = run_wharf(stack, "audit", "--actor", "bootstrap", "--json")
    [imported] = json.loads(by_bootstrap.stdout)
    assert imported["kind"] == "token.created"
    by_admin = run_wharf(stack, "audit", "--actor", imported["subject"], "--json")
    latest = [e for e in json.loads(by_admin.stdout) if e["kind"] == "token.created"][:2]
    assert [e["subject"] for e in latest] == [manager["id"], ci["id"]]
    assert latest[1]["details"]["permissions"] == "upload"
    readable = run_wharf(stack, "audit", "--project", PROJECT)
    assert "release.published" in readable.stdout and manager["id"] in readable.stdout
