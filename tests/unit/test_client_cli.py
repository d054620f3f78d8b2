"""The `wharf` command line without a server: help, usage errors, JSON errors."""

from __future__ import annotations

import argparse
import json

import pytest

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
