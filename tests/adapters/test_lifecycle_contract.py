"""The lifecycle table, cell by cell, on the fake and on DynamoDB: every transition the table
allows succeeds from each of its sources, every other state refuses it (and changes
nothing), and of racing attempts from an allowed state exactly one wins."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from chalicelib.domain.catalog import ReleaseCommit
from chalicelib.domain.errors import ConflictError, StateChangedError
from chalicelib.domain.lifecycle import (
    FILES,
    SESSIONS,
    FileStatus,
    SessionStatus,
)
from tests.adapters.conftest import NOW, Backend, new_file, open_session

SESSION_CELLS = [
    (name, state)
    for name in [*SESSIONS.transitions, *SESSIONS.guards]
    if SESSIONS.sources(name)  # "open" has no source: it creates (tested in the repository's)
    for state in SessionStatus
]
FILE_CELLS = [
    (name, state)
    for name in [*FILES.transitions, *FILES.guards]
    if FILES.sources(name)
    for state in FileStatus
]


def attempt_session(backend: Backend, name: str, token: str, *, alone: bool = True) -> bool:
    """Ask the repository for ``name`` on the session; whether it took effect."""
    sessions = backend.sessions
    session = sessions.get_session(token)
    before = session
    try:
        if name == "publish":
            sessions.begin_publish(session, [], at=NOW)
        elif name == "commit":
            serial = backend.stores.catalog.next_serial()
            backend.stores.catalog.commit(
                ReleaseCommit(
                    project=session.project,
                    version=session.version,
                    holder=token,
                    serial=serial,
                    at=NOW,
                    keep_until=NOW + timedelta(days=7),
                    has_files=False,
                )
            )
        elif name == "fail-publish":
            return sessions.fail_publish(token, ["failed"])
        elif name in ("cancel", "expire"):
            sessions.finish_session(session, name, at=NOW, keep_until=NOW + timedelta(days=7))
        elif name == "edit":
            sessions.add_file(session, new_file(session))
        elif name == "extend":
            after = sessions.extend_session(session, session.expires_at + timedelta(hours=1))
            return after.expires_at > before.expires_at
        else:
            raise AssertionError(f"no call for {name}")
    except (StateChangedError, ConflictError):
        if alone:  # (racers change it, of course)
            after = sessions.get_session(token)
            assert after.status is before.status, "a refused transition changed the status"
        return False
    return True


@pytest.mark.parametrize(("name", "state"), SESSION_CELLS)
def test_session_table_cell(backend, name, state):
    session = open_session(backend)
    backend.force_session(session.token, state)
    allowed = SESSIONS.permits(name, state)
    assert attempt_session(backend, name, session.token) is allowed
    after = backend.sessions.get_session(session.token)
    if allowed and name in SESSIONS.transitions:
        assert after.status is SESSIONS[name].target
    elif not allowed:
        assert after.status is state


def attempt_file(
    backend: Backend, name: str, session_token: str, file_id: str, *, alone: bool = True
) -> bool:
    sessions = backend.sessions
    record = sessions.get_file(session_token, file_id)
    try:
        if name == "delete":
            sessions.cancel_file(sessions.get_session(session_token), record, at=NOW)
        elif name == "record-progress":
            sessions.record_progress(record, 3, 30)
            return sessions.get_file(session_token, file_id).received_parts == 3
        else:
            sessions.move_file(record, name, at=NOW)
    except StateChangedError as refused:
        if alone:
            assert refused.current == str(record.status)
        return False
    return True


@pytest.mark.parametrize(("name", "state"), FILE_CELLS)
def test_file_table_cell(backend, name, state):
    session = open_session(backend)
    record = new_file(session)
    backend.sessions.add_file(session, record)
    backend.force_file(record, state)
    allowed = FILES.permits(name, state)
    assert attempt_file(backend, name, session.token, record.file_id) is allowed
    after = backend.sessions.get_file(session.token, record.file_id)
    if allowed and name in FILES.transitions:
        assert after.status is FILES[name].target
    elif not allowed:
        assert after.status is state


RACES = [
    *(("session", name) for name in ("publish", "commit", "fail-publish", "cancel", "expire")),
    *(
        ("file", name)
        for name in ("complete", "accept", "reject", "delete", "hold-for-review", "approve")
    ),
    ("file", "reject-review"),
]


@pytest.mark.parametrize(("kind", "name"), RACES)
def test_racing_attempts_have_one_winner(backend, kind, name):
    session = open_session(backend)
    lifecycle = SESSIONS if kind == "session" else FILES
    source = sorted(lifecycle.sources(name))[0]
    if kind == "session":
        backend.force_session(session.token, source)

        def attempt() -> bool:
            return attempt_session(backend, name, session.token, alone=False)
    else:
        record = new_file(session)
        backend.sessions.add_file(session, record)
        backend.force_file(record, source)

        def attempt() -> bool:
            return attempt_file(backend, name, session.token, record.file_id, alone=False)

    outcomes: list[bool] = []
    barrier = threading.Barrier(6)

    def race() -> None:
        barrier.wait()
        outcomes.append(attempt())

    threads = [threading.Thread(target=race) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == [False] * 5 + [True], outcomes


def test_every_state_is_reachable_and_terminal_states_have_no_way_out():
    for lifecycle in (SESSIONS, FILES):
        reached = {lifecycle.initial}
        for transition in lifecycle.transitions.values():
            reached.add(transition.target)
        assert reached == set(lifecycle.states)
        for state in lifecycle.terminal:
            assert not any(state in t.sources for t in lifecycle.transitions.values())
    assert SESSIONS.terminal == {SessionStatus.PUBLISHED, SessionStatus.CANCELED}
    assert FILES.terminal == {FileStatus.CANCELED}
