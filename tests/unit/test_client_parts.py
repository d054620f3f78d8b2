"""The wharf client's pieces that need no server: credentials and progress output."""

from __future__ import annotations

import io
import json

import pytest

from wharf_cli.credentials import CredentialsError, resolve
from wharf_cli.progress import Reporter


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    for name in ("WHARF_URL", "WHARF_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PYPIRC", str(tmp_path / "pypirc"))
    return tmp_path / "pypirc"


def test_flags_beat_environment_beat_pypirc(clean_env, monkeypatch):
    clean_env.write_text(
        "[distutils]\nindex-servers = wharf\n\n[wharf]\n"
        "repository = https://pkgs.example.com/legacy/\nusername = __token__\npassword = from-rc\n"
    )
    target = resolve(None, None, None)
    assert (target.url, target.password) == ("https://pkgs.example.com", "from-rc")
    monkeypatch.setenv("WHARF_TOKEN", "from-env")
    assert resolve(None, None, None).password == "from-env"
    assert resolve("http://other/", "from-flag", None).password == "from-flag"
    assert resolve("http://other/", "from-flag", None).url == "http://other"


def test_missing_token_is_one_clear_line(clean_env):
    with pytest.raises(CredentialsError, match="no token"):
        resolve(None, None, None)


def test_json_events_and_plain_lines():
    out = io.StringIO()
    reporter = Reporter("json", out)
    reporter.event("file-start", file="a.whl", size=10, mechanism="http-post-bytes")
    reporter.event("bytes", file="a.whl", bytes=10, part=1)
    events = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [e["event"] for e in events] == ["file-start", "bytes"]
    plain = io.StringIO()
    reporter = Reporter("plain", plain)
    reporter.event("file-start", file="a.whl", size=10, mechanism="http-post-bytes")
    reporter.event("file-done", file="a.whl", status="completed")
    assert plain.getvalue().splitlines() == [
        "uploading a.whl (10 bytes, http-post-bytes)",
        "a.whl: completed",
    ]


def test_terminal_bars_per_file_and_overall():
    out = io.StringIO()
    reporter = Reporter("tty", out)
    reporter.event("file-start", file="a.whl", size=100, mechanism="m")
    reporter.event("file-start", file="b.whl", size=100, mechanism="m")
    reporter.event("file-done", file="a.whl", status="completed")
    last_frame = out.getvalue().split("\x1b[3F")[-1]
    lines = [line for line in last_frame.split("\n") if line]
    assert len(lines) == 3
    assert "a.whl" in lines[0] and "completed" in lines[0]
    assert lines[2].startswith("\x1b[2Ktotal (2 files)")
