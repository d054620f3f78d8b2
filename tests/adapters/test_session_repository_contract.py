"""The SessionRepository contract beyond the table's cells, on the fake and on DynamoDB."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from packaging.version import Version

from chalicelib.domain.catalog import ProjectState
from chalicelib.domain.errors import (
    FileInSessionError,
    FilenameTakenError,
    SessionExistsError,
    SessionNotEditableError,
    StateChangedError,
)
from chalicelib.domain.lifecycle import FileStatus, SessionStatus
from chalicelib.domain.sessions import release_key
from tests.adapters.conftest import NOW, new_file, new_session, open_session

WHEEL = "acme_tools-1.0-py3-none-any.whl"


def test_a_session_round_trips_and_locks_its_release(backend):
    session = open_session(backend)
    assert backend.sessions.get_session(session.token) == session
    assert backend.sessions.open_session_for("acme-tools", "1") == session.token
    assert backend.sessions.get_session("nope") is None
    project = backend.stores.catalog.project("acme-tools")
    assert project.state is ProjectState.RESERVED and session.token in project.reservations


def test_a_second_session_of_a_release_names_the_first(backend):
    first = open_session(backend)
    again = new_session(version="1.0.0")
    with pytest.raises(SessionExistsError) as raised:
        backend.sessions.create_session(again, release="1", project=ProjectState.RESERVED)
    assert raised.value.token == first.token
    assert backend.sessions.get_session(again.token) is None


def test_a_stale_project_state_is_refused(backend):
    open_session(backend)  # reserves the name
    late = new_session(version="2.0")
    with pytest.raises(StateChangedError):
        backend.sessions.create_session(late, release="2", project=ProjectState.NEW)
    assert backend.sessions.open_session_for("acme-tools", "2") is None


def test_racing_creates_of_one_release_have_one_winner(backend):
    outcomes = []
    barrier = threading.Barrier(5)

    def create() -> None:
        barrier.wait()
        try:
            backend.sessions.create_session(new_session(), release="1", project=ProjectState.NEW)
            outcomes.append("won")
        except (SessionExistsError, StateChangedError):
            outcomes.append("lost")

    threads = [threading.Thread(target=create) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["lost"] * 4 + ["won"]


def test_cancel_unlocks_the_release_and_forgets_an_unused_name(backend):
    session = open_session(backend)
    finished = backend.sessions.finish_session(
        session, "cancel", at=NOW, keep_until=NOW + timedelta(days=7), notices=["bye"]
    )
    assert finished.status is SessionStatus.CANCELED and finished.notices == ("bye",)
    assert backend.sessions.open_session_for("acme-tools", "1") is None
    assert backend.stores.catalog.project("acme-tools") is None
    assert backend.sessions.purge_due() == [session.token]
    backend.sessions.mark_purged(session.token)
    assert backend.sessions.purge_due() == []


def test_begin_publish_claims_every_name_or_none(backend):
    session = open_session(backend)
    other = open_session(backend, "acme-tools", "2.0")
    backend.sessions.begin_publish(other, ["acme_tools-2.0.tar.gz", WHEEL], at=NOW)
    with pytest.raises(FilenameTakenError) as raised:
        backend.sessions.begin_publish(session, ["acme_tools-1.0.tar.gz", WHEEL], at=NOW)
    assert [e["source"] for e in raised.value.errors] == [WHEEL]
    assert backend.sessions.get_session(session.token).status is SessionStatus.OPEN
    assert backend.stores.filenames.claim("acme_tools-1.0.tar.gz") is None


def test_begin_publish_refuses_a_stale_revision(backend):
    session = open_session(backend)
    backend.sessions.add_file(session, new_file(session))  # revision moves on
    with pytest.raises(StateChangedError):
        backend.sessions.begin_publish(session, [WHEEL], at=NOW)
    assert backend.stores.filenames.claim(WHEEL) is None


def test_extend_moves_later_only(backend):
    session = open_session(backend)
    later = backend.sessions.extend_session(session, session.expires_at + timedelta(hours=2))
    assert later.expires_at == session.expires_at + timedelta(hours=2)
    same = backend.sessions.extend_session(later, session.expires_at)
    assert same.expires_at == later.expires_at


def test_due_and_live_lists(backend):
    soon = open_session(backend, "acme-a", expires_in=timedelta(hours=1))
    late = open_session(backend, "acme-b", expires_in=timedelta(hours=5))
    assert backend.sessions.due_sessions(NOW + timedelta(hours=2)) == [soon.token]
    live = [s.token for s in backend.sessions.live_sessions(NOW)]
    assert live == [soon.token, late.token]
    assert {s.token for s in backend.sessions.open_sessions()} == {soon.token, late.token}


def test_files_are_listed_oldest_first_and_one_per_name(backend):
    session = open_session(backend)
    first = new_file(session)
    backend.sessions.add_file(session, first)
    second = new_file(session, "acme_tools-1.0.tar.gz").model_copy(
        update={"created_at": NOW + timedelta(seconds=1)}
    )
    backend.sessions.add_file(backend.sessions.get_session(session.token), second)
    assert [f.file_id for f in backend.sessions.list_files(session.token)] == [
        first.file_id,
        second.file_id,
    ]
    # foo-1.0.0-... and foo-1.0-... are one file to an installer.
    equivalent = new_file(session, "acme_tools-1.0.0-py3-none-any.whl")
    with pytest.raises(FileInSessionError):
        backend.sessions.add_file(session, equivalent)
    assert backend.sessions.get_file(session.token, equivalent.file_id) is None


def test_a_closed_session_takes_no_file(backend):
    session = open_session(backend)
    backend.force_session(session.token, SessionStatus.PROCESSING)
    with pytest.raises(SessionNotEditableError):
        backend.sessions.add_file(session, new_file(session))


def test_deleting_a_file_frees_its_name(backend):
    session = open_session(backend)
    record = new_file(session)
    backend.sessions.add_file(session, record)
    backend.sessions.cancel_file(session, record, at=NOW)
    again = new_file(session)
    backend.sessions.add_file(backend.sessions.get_session(session.token), again)
    statuses = {f.file_id: f.status for f in backend.sessions.list_files(session.token)}
    assert statuses == {record.file_id: FileStatus.CANCELED, again.file_id: FileStatus.PENDING}


def test_move_file_sets_its_changes_and_lists_stuck_files(backend):
    session = open_session(backend)
    record = new_file(session)
    backend.sessions.add_file(session, record)
    processing = backend.sessions.move_file(record, "complete", at=NOW)
    assert processing.processing_since == NOW
    assert [f.file_id for f in backend.sessions.stuck_files(NOW + timedelta(minutes=1))] == [
        record.file_id
    ]
    done = backend.sessions.move_file(
        processing,
        "accept",
        at=NOW,
        changes={"digests": {"sha256": "a" * 64}, "notices": ("w",), "requires_python": None},
    )
    assert done.status is FileStatus.COMPLETED and done.completed_at == NOW
    assert done.digests == {"sha256": "a" * 64} and done.notices == ("w",)
    assert backend.sessions.get_file(session.token, record.file_id) == done
    assert backend.sessions.stuck_files(NOW + timedelta(minutes=1)) == []


def test_release_key_is_pep_440_equality():
    assert release_key(Version("1.0")) == release_key(Version("1.0.0")) == "1"
