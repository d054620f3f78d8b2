"""twine and `uv publish`, unchanged, against wharf's legacy API."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.builders import metadata_text, sdist_bytes, wheel_bytes
from tests.e2e.conftest import BIN, run_wharf

pytestmark = pytest.mark.e2e


def build(tmp: Path, name: str, version: str = "1.0", salt: bytes = b"") -> list[Path]:
    module = name.replace("-", "_")
    wheel = tmp / f"{module}-{version}-py3-none-any.whl"
    wheel.write_bytes(
        wheel_bytes(
            module,
            version,
            metadata=metadata_text(name, version),
            files={f"{module}/salt.py": b"SALT = " + repr(salt).encode() + b"\n"},
        )
    )
    sdist = tmp / f"{module}-{version}.tar.gz"
    sdist.write_bytes(sdist_bytes(module, version))
    return [wheel, sdist]


@pytest.fixture(scope="module")
def token(stack) -> str:
    created = run_wharf(
        stack, "token", "create", "--role", "upload", "--project", "e2e-*", "--json"
    )
    return json.loads(created.stdout)["token"]


def twine(stack, token, *args):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TWINE_", "WHARF_"))}
    env["COLUMNS"] = "200"  # rich wraps twine's messages at the terminal's width otherwise
    return subprocess.run(
        [
            str(BIN / "twine"),
            "upload",
            "--non-interactive",
            "--disable-progress-bar",
            "--repository-url",
            f"{stack.url}/legacy/",
            "-u",
            "__token__",
            "-p",
            token,
            *args,
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def uv_publish(stack, token, tmp, *args):
    env = {**os.environ, "UV_CACHE_DIR": str(tmp / "uv-cache"), "UV_NO_CONFIG": "1"}
    return subprocess.run(
        [
            str(BIN / "uv"),
            "publish",
            "--publish-url",
            f"{stack.url}/legacy/",
            "--trusted-publishing",
            "never",
            "-u",
            "__token__",
            "-p",
            token,
            *args,
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def pip_install(stack, token, tmp, project):
    host = stack.url.removeprefix("http://")
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-cache-dir",
            "--no-build-isolation",
            "--target",
            str(tmp / "site"),
            "--index-url",
            f"http://__token__:{token}@{host}/simple/",
            project,
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )


def index_files(stack, token, project):
    import requests

    return requests.get(
        f"{stack.url}/simple/{project}/",
        auth=("__token__", token),
        timeout=30,
        headers={"Accept": "application/vnd.pypi.simple.v1+json"},
    ).json()


def test_twine_upload_install_reupload_skip_existing(stack, token, tmp_path):
    files = build(tmp_path, "e2e-twine")
    first = twine(stack, token, *map(str, files))
    assert first.returncode == 0, first.stdout + first.stderr
    assert pip_install(stack, token, tmp_path, "e2e-twine").returncode == 0
    before = index_files(stack, token, "e2e-twine")
    # Rebuilt files (other bytes, same names) are refused...
    (tmp_path / "again").mkdir()
    rebuilt = build(tmp_path / "again", "e2e-twine", salt=b"x")
    again = twine(stack, token, *map(str, rebuilt))
    assert again.returncode != 0
    assert "400" in again.stdout + again.stderr
    # ...and skipped with --skip-existing, changing nothing.
    skipped = twine(stack, token, "--skip-existing", *map(str, rebuilt))
    assert skipped.returncode == 0, skipped.stdout + skipped.stderr
    assert "already exist" in " ".join((skipped.stdout + skipped.stderr).split())
    assert index_files(stack, token, "e2e-twine") == before


def test_uv_publish_upload_install_and_check_url(stack, token, tmp_path):
    files = build(tmp_path, "e2e-uvpub")
    first = uv_publish(stack, token, tmp_path, *map(str, files))
    assert first.returncode == 0, first.stdout + first.stderr
    assert pip_install(stack, token, tmp_path, "e2e-uvpub").returncode == 0
    before = index_files(stack, token, "e2e-uvpub")
    (tmp_path / "again").mkdir()
    rebuilt = build(tmp_path / "again", "e2e-uvpub", salt=b"y")
    again = uv_publish(stack, token, tmp_path, str(rebuilt[0]))
    assert again.returncode != 0
    # uv wraps its message at a width it picks itself; the words matter, not where it broke.
    assert "File already exists" in " ".join(again.stderr.split())
    host = stack.url.removeprefix("http://")
    check = f"http://__token__:{token}@{host}/simple/"
    same = uv_publish(stack, token, tmp_path, "--check-url", check, *map(str, files))
    assert same.returncode == 0, same.stdout + same.stderr
    assert "already exists, skipping" in same.stdout + same.stderr
    assert index_files(stack, token, "e2e-uvpub") == before


def test_wrong_token_and_mismatched_metadata_fail_clearly(stack, token, tmp_path):
    files = build(tmp_path, "e2e-wrong")
    wrong = twine(stack, "wharf_not-a-token", *map(str, files))
    assert wrong.returncode != 0
    assert "401" in wrong.stdout + wrong.stderr
    liar = tmp_path / "e2e_liar-1.0-py3-none-any.whl"
    liar.write_bytes(wheel_bytes("e2e_liar", "1.0", metadata=metadata_text("e2e-other", "1.0")))
    rejected = uv_publish(stack, token, tmp_path, str(liar))
    assert rejected.returncode != 0
    assert "but the file is for" in rejected.stderr or "does not match" in rejected.stderr
