"""The `wharf` command line without a server: help, usage errors, JSON errors."""

from __future__ import annotations

import argparse
import json

import pytest

from tests.scripted_http import scripted_server
from wharf_cli.main import build_parser, main


def _parsers(parser: argparse.ArgumentParser, path: str = "wharf"):
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _parsers(sub, f"{path} {name}")


def test_every_command_and_argument_has_help():
    missing = []
    for path, parser in _parsers(build_parser()):
        for action in parser._actions:
            if isinstance(action, argparse._HelpAction):
                continue
            if isinstance(action, argparse._SubParsersAction):
                missing += [
                    f"{path} {choice.dest}" for choice in action._choices_actions if not choice.help
                ]
                continue
            if not action.help:
                missing.append(f"{path} {'/'.join(action.option_strings) or action.dest}")
    assert missing == []


@pytest.fixture
def no_config(monkeypatch, tmp_path):
    for name in ("WHARF_URL", "WHARF_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PYPIRC", str(tmp_path / "none"))


def test_no_server_url_is_a_clear_error(no_config, capsys):
    assert main(["token", "list", "--token", "t"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("wharf: no server URL: set WHARF_URL or pass --url")
    assert err.count("\n") == 1


def test_errors_are_json_under_json(no_config, capsys, monkeypatch):
    monkeypatch.setenv("WHARF_URL", "http://127.0.0.1:9/simple/")
    assert main(["session", "list", "--json", "--token", "t"]) == 1
    out = capsys.readouterr()
    assert out.err == ""
    error = json.loads(out.out)
    assert error["event"] == "error"
    assert "points at the package index (/simple/)" in error["message"]


def test_usage_errors_are_json_under_json(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["token", "create", "--json"])
    assert exited.value.code == 2
    error = json.loads(capsys.readouterr().out)
    assert error == {
        "event": "error",
        "message": "wharf token create: the following arguments are required: --role",
    }


def test_unreachable_server_is_one_json_error(no_config, capsys, tmp_path):
    wheel = tmp_path / "acme_tools-1.0-py3-none-any.whl"
    wheel.write_bytes(b"not really a zip, never read")
    code = main(["upload", "--json", "--url", "http://127.0.0.1:9", "--token", "t", str(wheel)])
    assert code == 1
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert lines[-1]["event"] == "error"
    assert lines[-1]["message"].startswith("cannot reach http://127.0.0.1:9")
    assert (lines[-1]["project"], lines[-1]["version"]) == ("acme-tools", "1.0")


def test_yanking_a_file_names_its_project_as_packaging_parses_it(no_config, capsys):
    with scripted_server() as (url, script):
        yanked = json.dumps({"project": "acme-tools", "files": ["x"]}).encode()
        script.answers[("POST", "/admin/projects/acme-tools/yank")] = [(200, {}, yanked)]
        filename = "Acme.Tools-1.0-py3-none-any.whl"
        assert main(["yank", filename, "--url", url, "--token", "t"]) == 0
    ((_, _, body),) = script.seen  # at /admin/projects/acme-tools/yank, the one scripted
    assert json.loads(body) == {"target": filename, "reason": None, "yanked": True}
    assert main(["yank", "1.0", "--url", url, "--token", "t"]) == 1
    assert main(["yank", "acme-tools.whl", "--url", url, "--token", "t"]) == 1
    errors = capsys.readouterr().err.splitlines()
    assert errors[-2:] == [
        "wharf: give --project when yanking a version",
        "wharf: 'acme-tools.whl' is not a distribution's filename",
    ]


def _event(n: int) -> dict:
    return {
        "id": f"session.opened:{n}",
        "kind": "session.opened",
        "at": f"2001-01-01T00:00:0{n}Z",
        "actor": "tok-a",
        "project": "acme-tools",
        "version": "1.0",
        "subject": "abcd1234",
        "reason": None,
        "details": {},
    }


def test_audit_follows_cursors_up_to_the_limit(no_config, capsys):
    with scripted_server() as (url, script):
        first = {"order": "oldest-first", "events": [_event(1), _event(2)], "next": "c1"}
        second = {"order": "oldest-first", "events": [_event(3)], "next": "c2"}
        script.answers[("GET", "/admin/audit?order=oldest&project=acme-tools&limit=3")] = [
            (200, {}, json.dumps(first).encode())
        ]
        script.answers[
            ("GET", "/admin/audit?order=oldest&project=acme-tools&limit=1&cursor=c1")
        ] = [(200, {}, json.dumps(second).encode())]
        argv = ["audit", "--project", "acme-tools", "--oldest-first", "--limit", "3"]
        assert main([*argv, "--url", url, "--token", "t", "--json"]) == 0
    events = json.loads(capsys.readouterr().out)
    assert [e["id"] for e in events] == [f"session.opened:{n}" for n in (1, 2, 3)]
    assert len(script.seen) == 2  # stopped at the limit, though a cursor was left


def test_audit_prints_one_line_per_event(no_config, capsys):
    with scripted_server() as (url, script):
        page = {"order": "newest-first", "events": [_event(1)], "next": None}
        script.answers[("GET", "/admin/audit?order=newest&limit=100")] = [
            (200, {}, json.dumps(page).encode())
        ]
        assert main(["audit", "--url", url, "--token", "t"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["TIME", "EVENT", "ACTOR", "RELEASE", "ABOUT"]
    assert lines[1].split() == [
        "2001-01-01T00:00:01Z",
        "session.opened",
        "tok-a",
        "acme-tools",
        "1.0",
        "abcd1234",
    ]


def test_token_create_no_publish_asks_for_upload_alone(no_config, capsys):
    with scripted_server() as (url, script):
        created = {
            "id": "t1",
            "token": "wharf_x",
            "role": "upload",
            "projects": ["acme"],
            "permissions": ["upload"],
            "expires_at": None,
        }
        script.answers[("POST", "/admin/tokens")] = [(201, {}, json.dumps(created).encode())]
        argv = ["token", "create", "--role", "upload", "--project", "acme", "--no-publish"]
        assert main([*argv, "--url", url, "--token", "t"]) == 0
    ((_, _, body),) = script.seen
    assert json.loads(body)["publish"] is False
    assert "permissions upload;" in capsys.readouterr().out


def test_a_session_token_that_starts_with_a_dash_is_an_id_not_an_option(no_config, capsys):
    """Tokens made before the server stopped it: one in 64 began with '-'."""
    from wharf_cli.main import dashed_session_tokens

    token = "-iam_NesXPNLurbCL2vhE90nzAYMrTDs"
    argv = dashed_session_tokens(["session", "cancel", token, "--token", "t", "--json"])
    args = build_parser().parse_args(argv)
    assert args.target == [token] and args.token == "t" and args.json is True
    # Parsed, so the command goes on to look for its server (none is configured here).
    assert main(["session", "status", token, "--token", "t"]) == 1
    assert capsys.readouterr().err.startswith("wharf: no server URL")
    # Anything else that starts with '-' is still an option.
    assert dashed_session_tokens(["session", "cancel", "-h"]) == ["session", "cancel", "-h"]


def test_the_files_of_an_upload_are_hashed_together_and_grouped_by_release(tmp_path):
    import hashlib
    import os

    from wharf_cli.client import ClientError
    from wharf_cli.upload_command import _releases
    from wharf_cli.workers import Stop

    names = [
        "acme_tools-1.0-py3-none-any.whl",
        "acme_tools-1.0.tar.gz",
        "Acme.Tools-2.0-py3-none-any.whl",
        "other-0.1.tar.gz",
    ]
    paths = []
    for name in names:
        (tmp_path / name).write_bytes(os.urandom(1024 * 1024 + len(name)))
        paths.append(tmp_path / name)
    (tmp_path / f"{names[0]}.publish.attestation").write_text("{}")
    groups = _releases([*paths, tmp_path / f"{names[0]}.publish.attestation"], Stop())
    assert {key: [d.filename for d in dists] for key, dists in groups.items()} == {
        ("acme-tools", "1.0"): names[:2],
        ("acme-tools", "2.0"): [names[2]],
        ("other", "0.1"): [names[3]],
    }
    for dists in groups.values():
        for dist in dists:
            data = dist.path.read_bytes()
            assert (dist.size, dist.sha256) == (len(data), hashlib.sha256(data).hexdigest())

    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(ClientError, match=r"notes\.txt: not a wheel or an sdist"):
        _releases([*paths, tmp_path / "notes.txt"], Stop())
    with pytest.raises(ClientError, match=r"gone\.whl: no such file"):
        _releases([*paths, tmp_path / "gone.whl"], Stop())
