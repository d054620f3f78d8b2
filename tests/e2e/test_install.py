"""Real installers against the local stack: pip, uv and pypi-simple read what wharf published."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest
import requests

from tests.builders import metadata_text, sha256, wheel_bytes
from tests.e2e.conftest import BIN, run_wharf

pytestmark = pytest.mark.e2e
V2 = "application/vnd.pypi.upload.v2+json"
META = {"api-version": "2.0"}
JSON_TYPE = "application/vnd.pypi.simple.v1+json"


class Publisher:
    def __init__(self, stack, token: str) -> None:
        self.stack = stack
        self.token = token

    def call(self, method, url, body=None, **kwargs):
        headers = kwargs.pop("headers", {})
        if body is not None:
            headers["Content-Type"] = V2
            kwargs["json"] = body
        return requests.request(
            method, url, auth=("__token__", self.token), headers=headers, timeout=30, **kwargs
        )

    def wait(self, url, wanted, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status = self.call("GET", url).json()
            if status["status"] in wanted:
                return status
            time.sleep(0.2)
        raise AssertionError(f"{url} stuck: {status}")

    def stage(self, name, version, files: dict[str, bytes]) -> dict:
        session = self.call(
            "POST", f"{self.stack.url}/upload/", {"meta": META, "name": name, "version": version}
        ).json()
        for filename, data in files.items():
            file = self.call(
                "POST",
                session["links"]["upload"],
                {
                    "meta": META,
                    "filename": filename,
                    "size": len(data),
                    "hashes": {"sha256": sha256(data)},
                    "mechanism": "http-post-bytes",
                },
            ).json()
            self.call(
                "POST",
                file["mechanism"]["file_url"],
                data=data,
                headers={"Content-Type": "application/octet-stream"},
            )
            self.call("POST", file["links"]["complete"], {"meta": META})
            done = self.wait(file["links"]["file-upload-session"], {"completed", "error"})
            assert done["status"] == "completed", done
        return session

    def publish(self, session) -> None:
        reply = self.call("POST", session["links"]["publish"], {"meta": META})
        assert reply.status_code == 202, reply.text
        assert (
            self.wait(session["links"]["session"], {"published", "error"})["status"] == "published"
        )


def lib_wheel(version: str) -> bytes:
    return wheel_bytes(
        "e2e_lib",
        version,
        metadata=metadata_text("e2e-lib", version),
        files={"e2e_lib/__init__.py": f"VERSION = {version!r}\n".encode()},
    )


def app_wheel() -> bytes:
    return wheel_bytes(
        "e2e_app",
        "1.0",
        metadata=metadata_text("e2e-app", "1.0", requires=["e2e-lib>=1.0"]),
        files={"e2e_app/__init__.py": b"import e2e_lib\n"},
    )


def buildable_sdist() -> bytes:
    """A real sdist that pip builds with setuptools."""
    root = "e2e_src-1.0"
    files = {
        f"{root}/pyproject.toml": (
            b'[build-system]\nrequires = ["setuptools>=70"]\n'
            b'build-backend = "setuptools.build_meta"\n'
            b'[project]\nname = "e2e-src"\nversion = "1.0"\n'
            b'[tool.setuptools]\npackages = ["e2e_src"]\n'
        ),
        f"{root}/PKG-INFO": metadata_text("e2e-src", "1.0", metadata_version="2.2").encode(),
        f"{root}/e2e_src/__init__.py": b"BUILT = True\n",
    }
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", format=tarfile.PAX_FORMAT) as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


@pytest.fixture(scope="module")
def published(stack):
    created = run_wharf(
        stack, "token", "create", "--role", "upload", "--project", "e2e-*", "--json"
    )
    publisher = Publisher(stack, json.loads(created.stdout)["token"])
    for version in ("1.0", "1.1"):
        name = f"e2e_lib-{version}-py3-none-any.whl"
        publisher.publish(publisher.stage("e2e-lib", version, {name: lib_wheel(version)}))
    publisher.publish(
        publisher.stage("e2e-app", "1.0", {"e2e_app-1.0-py3-none-any.whl": app_wheel()})
    )
    publisher.publish(publisher.stage("e2e-src", "1.0", {"e2e_src-1.0.tar.gz": buildable_sdist()}))
    reader = json.loads(run_wharf(stack, "token", "create", "--role", "read", "--json").stdout)
    return publisher, reader["token"]


def index_url(stack, token: str) -> str:
    host = stack.url.removeprefix("http://")
    return f"http://__token__:{token}@{host}/simple/"


def pip(*args: str, cwd: Path, http_cache: bool = False) -> subprocess.CompletedProcess:
    """pip as a subprocess; with no cache unless ``http_cache`` (then ``--cache-dir``)."""
    env = {**os.environ, "PIP_NO_CACHE_DIR": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    env.pop("PIP_INDEX_URL", None)
    if http_cache:
        del env["PIP_NO_CACHE_DIR"]
    return subprocess.run(
        [sys.executable, "-m", "pip", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=300,
    )


def test_pip_installs_a_wheel_with_its_dependency(stack, published, tmp_path):
    _, reader = published
    target = tmp_path / "site"
    result = pip(
        "install",
        "--index-url",
        index_url(stack, reader),
        "--target",
        str(target),
        "e2e-app",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert (target / "e2e_app" / "__init__.py").exists()
    assert "1.1" in (target / "e2e_lib" / "__init__.py").read_text()


def test_pip_builds_an_sdist_only_project(stack, published, tmp_path):
    _, reader = published
    target = tmp_path / "site"
    result = pip(
        "install",
        "--no-build-isolation",
        "--index-url",
        index_url(stack, reader),
        "--target",
        str(target),
        "e2e-src",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert (target / "e2e_src" / "__init__.py").read_text() == "BUILT = True\n"


def test_uv_installs(stack, published, tmp_path):
    _, reader = published
    env = {
        **os.environ,
        "UV_CACHE_DIR": str(tmp_path / "uv-cache"),
        "UV_NO_CONFIG": "1",
        "UV_PYTHON_DOWNLOADS": "never",
    }
    result = subprocess.run(
        [
            str(BIN / "uv"),
            "pip",
            "install",
            "--python",
            sys.executable,
            "--index-url",
            index_url(stack, reader),
            "--target",
            str(tmp_path / "site"),
            "e2e-app",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "site" / "e2e_lib" / "__init__.py").exists()


def test_pip_resolves_from_metadata_not_the_wheel(stack, published, tmp_path):
    _, reader = published
    seen = len(stack.log())
    result = pip(
        "install",
        "--dry-run",
        "--no-deps",
        "--index-url",
        index_url(stack, reader),
        "e2e-lib==1.1",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    paths = [
        json.loads(line).get("request_path", "")
        for line in stack.log()[seen:].splitlines()
        if line.startswith("{") and "request_path" in line
    ]
    assert "/files/e2e-lib/e2e_lib-1.1-py3-none-any.whl.metadata" in paths
    assert "/files/e2e-lib/e2e_lib-1.1-py3-none-any.whl" not in paths


def test_a_warm_pip_cache_downloads_no_file_again(stack, published, tmp_path):
    """A file's URL stays the same for half its life and S3 calls its bytes immutable, so
    pip's HTTP cache (which keeps answers from HTTPS or trusted hosts) serves the second
    download: before, every signature was new and every install fetched every file."""
    publisher, reader = published
    # A release of its own: no other test has asked for its URL, so both downloads fall
    # within the half-life of the one this test makes the server sign.
    wheel = "e2e_cached-1.0-py3-none-any.whl"
    data = wheel_bytes("e2e_cached", "1.0", metadata=metadata_text("e2e-cached", "1.0"))
    publisher.publish(publisher.stage("e2e-cached", "1.0", {wheel: data}))

    def download(into: str) -> list[str]:
        result = pip(
            *("download", "-vvv", "--no-deps", "--index-url", index_url(stack, reader)),
            *("--trusted-host", "127.0.0.1", "--cache-dir", str(tmp_path / "cache")),
            *("-d", str(tmp_path / into), "e2e-cached==1.0"),
            cwd=tmp_path,
            http_cache=True,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        return [line for line in result.stdout.splitlines() if '"GET /' in line]

    first, second = download("first"), download("second")
    from_s3 = [line for line in first if "X-Amz-Signature=" in line]
    assert len(from_s3) == 1 and wheel in from_s3[0], first
    assert not [line for line in second if "X-Amz-Signature=" in line], second
    assert any(f"/files/e2e-cached/{wheel} " in line for line in second)  # still authorised
    assert (tmp_path / "second" / wheel).read_bytes() == (tmp_path / "first" / wheel).read_bytes()


def test_staged_release_only_from_the_stage_url(stack, published, tmp_path):
    publisher, reader = published
    session = publisher.stage("e2e-lib", "2.0", {"e2e_lib-2.0-py3-none-any.whl": lib_wheel("2.0")})
    main_only = pip(
        "download",
        "--no-deps",
        "-d",
        str(tmp_path / "a"),
        "--index-url",
        index_url(stack, reader),
        "e2e-lib==2.0",
        cwd=tmp_path,
    )
    assert main_only.returncode != 0
    with_stage = pip(
        "download",
        "--no-deps",
        "-d",
        str(tmp_path / "b"),
        "--index-url",
        index_url(stack, reader),
        "--extra-index-url",
        session["links"]["stage"],
        "e2e-lib==2.0",
        cwd=tmp_path,
    )
    assert with_stage.returncode == 0, with_stage.stdout + with_stage.stderr
    assert (tmp_path / "b" / "e2e_lib-2.0-py3-none-any.whl").exists()
    publisher.call("DELETE", session["links"]["session"])


def test_pip_skips_a_yanked_release_unless_pinned(stack, published, tmp_path):
    _, reader = published
    yanked = run_wharf(stack, "yank", "1.1", "--project", "e2e-lib", "--reason", "broken")
    assert yanked.returncode == 0, yanked.stderr
    try:
        loose = pip(
            "download",
            "--no-deps",
            "-d",
            str(tmp_path / "a"),
            "--index-url",
            index_url(stack, reader),
            "e2e-lib",
            cwd=tmp_path,
        )
        assert loose.returncode == 0, loose.stderr
        assert (tmp_path / "a" / "e2e_lib-1.0-py3-none-any.whl").exists()
        pinned = pip(
            "download",
            "--no-deps",
            "-d",
            str(tmp_path / "b"),
            "--index-url",
            index_url(stack, reader),
            "e2e-lib==1.1",
            cwd=tmp_path,
        )
        assert pinned.returncode == 0, pinned.stderr
        assert (tmp_path / "b" / "e2e_lib-1.1-py3-none-any.whl").exists()
    finally:
        run_wharf(stack, "unyank", "1.1", "--project", "e2e-lib")


def test_pypi_simple_parses_both_forms(stack, published):
    from pypi_simple import ACCEPT_HTML_ONLY, ACCEPT_JSON_ONLY, PyPISimple

    _, reader = published
    for accept in (ACCEPT_JSON_ONLY, ACCEPT_HTML_ONLY):
        with PyPISimple(
            f"{stack.url}/simple/", auth=("__token__", reader), accept=accept
        ) as client:
            index = client.get_index_page()
            assert "e2e-lib" in index.projects
            page = client.get_project_page("e2e-lib")
            names = {p.filename for p in page.packages}
            assert "e2e_lib-1.0-py3-none-any.whl" in names
            package = next(p for p in page.packages if p.filename == "e2e_lib-1.0-py3-none-any.whl")
            assert len(package.digests["sha256"]) == 64
            assert package.has_metadata


def test_head_answers_like_get_over_one_kept_alive_connection(stack, published):
    """Tools that probe with HEAD (mirrors, caches, simple-repository) get GET's headers
    with no body, and the connection stays usable for the next request."""
    _, reader = published
    with requests.Session() as http:
        http.auth = ("__token__", reader)
        for path in ("/simple/", "/simple/e2e-lib/"):
            got = http.get(stack.url + path, headers={"Accept": JSON_TYPE}, timeout=10)
            head = http.head(stack.url + path, headers={"Accept": JSON_TYPE}, timeout=10)
            assert head.status_code == 200, path
            assert head.content == b""
            assert int(head.headers["Content-Length"]) == len(got.content)
            assert head.headers["ETag"] == got.headers["ETag"]
        wheel = "e2e_lib-1.1-py3-none-any.whl"
        head = http.head(f"{stack.url}/files/e2e-lib/{wheel}", timeout=10, allow_redirects=False)
        assert head.status_code == 302
        assert "X-Amz-Signature" in head.headers["Location"]
        # The same connection still answers a GET correctly after the HEADs.
        after = http.get(f"{stack.url}/simple/e2e-lib/", headers={"Accept": JSON_TYPE})
        assert wheel in {f["filename"] for f in after.json()["files"]}


def test_published_means_visible_at_once(stack, published):
    """The first read after a session says ``published`` already shows the release, for
    each of several quick releases and for a project registered by an empty release."""
    publisher, reader = published
    auth = ("__token__", reader)
    for minor in range(8):
        version = f"3.{minor}"
        filename = f"e2e_lib-{version}-py3-none-any.whl"
        publisher.publish(publisher.stage("e2e-lib", version, {filename: lib_wheel(version)}))
        page = requests.get(
            f"{stack.url}/simple/e2e-lib/", auth=auth, headers={"Accept": JSON_TYPE}, timeout=10
        )
        assert filename in {f["filename"] for f in page.json()["files"]}, version
    publisher.publish(publisher.stage("e2e-empty", "0.0.1", {}))
    root = requests.get(f"{stack.url}/simple/", auth=auth, headers={"Accept": JSON_TYPE})
    assert {"name": "e2e-empty"} in root.json()["projects"]
    empty = requests.get(f"{stack.url}/simple/e2e-empty/", auth=auth, headers={"Accept": JSON_TYPE})
    assert empty.status_code == 200 and empty.json()["files"] == []
