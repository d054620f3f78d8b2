"""The wharf client's pieces that need no server: credentials, progress output, workers."""

from __future__ import annotations

import io
import json
import re
import threading
import time

import pytest

from wharf_cli.credentials import CredentialsError, resolve, server_root
from wharf_cli.progress import Reporter, size
from wharf_cli.workers import Stop, Stopped, run_all


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
    assert target.repository_url == "https://pkgs.example.com/legacy/"
    monkeypatch.setenv("WHARF_TOKEN", "from-env")
    assert resolve(None, None, None).password == "from-env"
    assert resolve("http://other/", "from-flag", None).password == "from-flag"
    flagged = resolve("http://other/", "from-flag", None)
    assert (flagged.url, flagged.repository_url) == ("http://other", None)


def test_twine_flags_and_named_sections(clean_env):
    clean_env.write_text("[corp]\nrepository = https://corp.example.com/api/legacy/\n")
    target = resolve(None, "t", "corp")
    assert target.url == "https://corp.example.com/api"  # an API Gateway stage prefix stays
    twine_style = resolve(
        None, "t", None, repository_url="https://x.example.com/legacy/", username="ci"
    )
    assert (twine_style.url, twine_style.username) == ("https://x.example.com", "ci")
    with pytest.raises(CredentialsError, match=r"no \[missing\] section"):
        resolve(None, "t", "missing")


def test_missing_token_is_one_clear_line(clean_env):
    with pytest.raises(CredentialsError, match="no token"):
        resolve("http://pkgs.example.com", None, None)


def test_no_server_is_an_error_not_a_default(clean_env):
    with pytest.raises(CredentialsError, match="no server URL: set WHARF_URL or pass --url"):
        resolve(None, "t", None)


@pytest.mark.parametrize(
    ("url", "what", "root"),
    [
        ("http://127.0.0.1:8000/simple/", "package index", "http://127.0.0.1:8000"),
        (
            "https://pkgs.example.com/api/simple/acme/",
            "package index",
            "https://pkgs.example.com/api",
        ),
        ("https://pkgs.example.com/upload/", "Upload 2.0 API", "https://pkgs.example.com"),
        ("https://pkgs.example.com/legacy", "legacy upload API", "https://pkgs.example.com"),
    ],
)
def test_a_url_that_points_at_an_endpoint_names_the_root(clean_env, monkeypatch, url, what, root):
    monkeypatch.setenv("WHARF_URL", url)
    with pytest.raises(CredentialsError) as raised:
        resolve(None, "t", None)
    message = str(raised.value)
    assert message.startswith(f"WHARF_URL ({url}) points at the {what}")
    assert message.endswith(f"not at the server's root; use {root}")


def test_urls_must_be_http_and_carry_no_credentials():
    assert server_root("https://pkgs.example.com/api/", "--url") == "https://pkgs.example.com/api"
    with pytest.raises(CredentialsError, match="must be an http"):
        server_root("pkgs.example.com", "--url")
    with pytest.raises(CredentialsError, match="must not contain credentials") as raised:
        server_root("https://__token__:secret@pkgs.example.com", "--url")
    assert "secret" not in str(raised.value)


def test_json_events_and_plain_lines():
    out = io.StringIO()
    reporter = Reporter("json", out)
    reporter.event("file-start", file="a.whl", size=10, mechanism="http-post-bytes")
    reporter.event("bytes", file="a.whl", bytes=10, part=1)
    events = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [e["event"] for e in events] == ["file-start", "bytes"]
    assert reporter.sent == 10


def test_plain_lines_for_a_ci_log():
    out = io.StringIO()
    reporter = Reporter("plain", out)
    mib = 1024 * 1024
    reporter.event("session", message="opened session X for acme 1.0")
    reporter.event("file-start", file="a.whl", size=20 * mib, mechanism="multipart")
    reporter.event("bytes", file="a.whl", bytes=5 * mib, part=2, resumed=True)
    for part in (1, 3, 4):
        reporter.event("bytes", file="a.whl", bytes=5 * mib, part=part)
    reporter.event("file-sent", file="a.whl")
    reporter.event("file-done", file="a.whl", status="error", notices=["bad", "worse"])
    lines = out.getvalue().splitlines()
    assert lines[:6] == [
        "opened session X for acme 1.0",
        "a.whl: uploading 20.0 MiB (multipart)",
        "a.whl: 20% (5.0 MiB of 20.0 MiB)",
        "a.whl: 50% (10.0 MiB of 20.0 MiB)",
        "a.whl: 70% (15.0 MiB of 20.0 MiB)",
        lines[5],
    ]
    assert lines[5].startswith("a.whl: sent 15.0 MiB in ")  # the resumed part was not sent
    assert lines[6] == "a.whl: error (bad; worse)"
    assert "\x1b" not in out.getvalue()
    assert reporter.sent == 15 * mib


def test_closed_reporter_writes_nothing():
    out = io.StringIO()
    reporter = Reporter("plain", out)
    reporter.close()
    reporter.event("session", message="late")
    assert out.getvalue() == ""


def test_sizes_for_people():
    assert [size(n) for n in (944, 12_600, 60 * 1024 * 1024, 1.5 * 1024**3)] == [
        "944 B",
        "12.3 KiB",
        "60.0 MiB",
        "1.5 GiB",
    ]


def test_run_all_keeps_order_and_uses_several_threads():
    lock = threading.Lock()
    active, most = [0], [0]

    def work(n: int) -> int:
        with lock:
            active[0] += 1
            most[0] = max(most[0], active[0])
        for _ in range(100):  # linger (bounded) until three calls overlap
            if most[0] >= 3:
                break
            time.sleep(0.01)
        with lock:
            active[0] -= 1
        return n * n

    assert run_all(work, range(8), workers=3, stop=Stop()) == [n * n for n in range(8)]
    assert most[0] == 3


def test_run_all_raises_the_first_error_and_starts_nothing_more():
    started: list[int] = []

    def work(n: int) -> int:
        started.append(n)
        if n == 0:
            raise ValueError("part 0 failed")
        return n

    with pytest.raises(ValueError, match="part 0 failed"):
        run_all(work, range(50), workers=1, stop=Stop())
    assert started == [0]


def test_stop_ends_work_and_sleeps():
    stop = Stop()
    stop.set()
    with pytest.raises(Stopped):
        stop.sleep(60)  # returns at once: the flag is set
    with pytest.raises(Stopped):
        run_all(lambda n: n, range(3), workers=2, stop=stop)


ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def last_frame(text: str) -> list[str]:
    """The rows rich drew last: each redraw starts by erasing the previous frame."""
    frame = text.rsplit("\r\x1b[2K", 1)[-1]
    return [ANSI.sub("", line).rstrip() for line in frame.splitlines() if ANSI.sub("", line)]


@pytest.fixture
def terminal(monkeypatch):
    monkeypatch.setenv("COLUMNS", "120")
    out = io.StringIO()
    return Reporter("tty", out), out


def test_terminal_bars_per_file_and_overall(terminal):
    reporter, out = terminal
    reporter.event("file-start", file="a.whl", size=100, mechanism="m")
    reporter.event("file-start", file="b.whl", size=100, mechanism="m")
    reporter.event("bytes", file="a.whl", bytes=50, part=1)
    reporter.event("bytes", file="a.whl", bytes=50, part=2)
    reporter.event("file-done", file="a.whl", status="completed")
    total, a, b = last_frame(out.getvalue())
    assert total.startswith("total (2 files) ")
    assert " 50% 100/200 bytes " in total
    assert a.startswith("a.whl ") and " 100% 100/100 bytes " in a and a.endswith(" completed")
    assert b.startswith("b.whl ") and "  0% 0/100 bytes " in b and b.endswith(" sending")
    assert "B/s " in total and "B/s " in a  # transfer speed, from two parts on
    assert b.split()[-3:] == ["?", "-:--:--", "sending"]  # no speed, no ETA: nothing sent
    assert "\x1b[?25l" in out.getvalue()  # the cursor hides while the bars are drawn


def test_terminal_lines_above_the_bars_then_the_outcome_below_them(terminal):
    reporter, out = terminal
    reporter.event("session", message="opened session X for acme 1.0")
    reporter.event("file-start", file="a.whl", size=100, mechanism="m")
    # Words in brackets are the server's, never rich markup.
    reporter.event("waiting", message="waiting for b[1].whl [/x] (pending)")
    reporter.event("bytes", file="a.whl", bytes=100, part=1)
    reporter.event("file-done", file="a.whl", status="completed")
    reporter.event("published", message="published acme 1.0")
    text = out.getvalue()
    assert text.startswith("opened session X for acme 1.0\n")
    # The bars are erased, the line printed, and the bars drawn again below it.
    assert "\x1b[2Kwaiting for b[1].whl [/x] (pending)\n" in text
    assert text.endswith("\x1b[?25hpublished acme 1.0\n")  # cursor back, then the outcome
    *_, a, outcome = last_frame(text)
    assert " 100% " in a and a.endswith(" completed")
    assert outcome == "published acme 1.0"


def test_terminal_resumed_bytes_fill_the_bar_but_not_the_sent_count(terminal):
    reporter, out = terminal
    reporter.event("file-start", file="a.whl", size=100, mechanism="m")
    reporter.event("bytes", file="a.whl", bytes=60, part=0, resumed=True)
    reporter.event("bytes", file="a.whl", bytes=20, part=4)
    reporter.finish_bars()
    _, a = last_frame(out.getvalue())
    assert " 80% 80/100 bytes " in a
    assert reporter.sent == 20


def test_terminal_close_stops_the_bars_and_all_output(terminal):
    reporter, out = terminal
    reporter.event("file-start", file="a.whl", size=100, mechanism="m")
    reporter.close()
    drawn = out.getvalue()
    assert drawn.endswith("\x1b[?25h")  # the terminal gets its cursor back
    reporter.event("bytes", file="a.whl", bytes=100, part=1)  # a worker thread, late
    reporter.event("interrupted", message="late")
    assert out.getvalue() == drawn
