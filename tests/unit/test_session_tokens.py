"""Session tokens and file ids go on command lines (`wharf session cancel TOKEN`): none
starts with '-', which argparse would take for an option (one in 64 did, and the e2e
suite met one)."""

from __future__ import annotations

import secrets

from chalicelib.domain import sessions


def test_a_value_with_a_leading_dash_is_drawn_again(monkeypatch):
    drawn = iter(["-first", "--second", "third"])
    monkeypatch.setattr(secrets, "token_urlsafe", lambda nbytes: next(drawn))
    assert sessions.new_session_token() == "third"


def test_none_starts_with_a_dash_and_they_keep_their_length():
    tokens = [sessions.new_session_token() for _ in range(2000)]
    ids = [sessions.new_file_id() for _ in range(2000)]
    assert not any(value.startswith("-") for value in tokens + ids)
    assert {len(t) for t in tokens} == {32} and {len(i) for i in ids} == {16}
    assert len(set(tokens)) == len(tokens)
