"""Each transition of the lifecycle table, set off by its trigger through the services, and
each refusal with the problem type a client acts on (on the fakes)."""

from __future__ import annotations

import pytest

from chalicelib.domain.catalog import ProjectState
from chalicelib.domain.errors import (
    AlreadyPublishedError,
    FileInSessionError,
    FilenameTakenError,
    FileNotPendingError,
    FilesNotCompletedError,
    FileTooLargeError,
    InvalidRequestError,
    MechanismMismatchError,
    MixedUploadPathsError,
    NotFoundError,
    PermissionDeniedError,
    SessionExistsError,
    SessionNotEditableError,
    UnprocessableError,
)
from chalicelib.domain.lifecycle import FileStatus, SessionStatus
from chalicelib.domain.tokens import Principal, Role
from chalicelib.services.legacy import LegacyUpload
from tests.builders import metadata_text, sdist_bytes, sha256, wheel_bytes
from tests.services.conftest import UPLOADER, WHEEL

SDIST = "acme_tools-1.0.tar.gz"


def test_open_reserves_the_name_and_locks_the_release(world):
    token = world.session()
    assert world.status(token) == "open"
    project = world.wharf.stores.catalog.project("acme-tools")
    assert project.state is ProjectState.RESERVED
    with pytest.raises(SessionExistsError) as raised:
        world.session(version="1.0.0")
    assert raised.value.token == token
    outsider = Principal(token_id="o", role=Role.UPLOAD, projects=("other-*",))
    with pytest.raises(PermissionDeniedError):
        world.session(version="2.0", who=outsider)


def test_a_file_goes_pending_processing_completed(world):
    token = world.session()
    view, data = world.add(token)
    assert view.status is FileStatus.PENDING
    assert world.send(token, view.file.file_id, data).status == 204
    done = world.wharf.files.complete(UPLOADER, token, view.file.file_id)
    assert done.status is FileStatus.PROCESSING
    assert world.deliver() == ["completed"]
    assert world.wharf.files.view(UPLOADER, token, view.file.file_id).status is (
        FileStatus.COMPLETED
    )


def test_a_file_the_validator_rejects_is_error_with_notices(world):
    token = world.session()
    bad = wheel_bytes(metadata=metadata_text("other-name", "1.0"))
    file_id = world.upload(token, WHEEL, bad)
    view = world.wharf.files.view(UPLOADER, token, file_id)
    assert view.status is FileStatus.ERROR and view.file.notices


def test_complete_without_bytes_refuses_the_transfer(world):
    token = world.session()
    view, _ = world.add(token)
    with pytest.raises(InvalidRequestError, match="no bytes"):
        world.wharf.files.complete(UPLOADER, token, view.file.file_id)
    assert world.wharf.files.view(UPLOADER, token, view.file.file_id).status is FileStatus.ERROR
    with pytest.raises(FileNotPendingError):
        world.wharf.files.complete(UPLOADER, token, view.file.file_id)


def test_publish_needs_every_file_completed(world):
    token = world.session()
    world.upload(token)
    world.add(token, SDIST, sdist_bytes())
    with pytest.raises(FilesNotCompletedError) as raised:
        world.wharf.publisher.request(UPLOADER, token)
    assert raised.value.errors == [{"source": SDIST, "message": "pending"}]
    assert world.status(token) == "open"


def test_publish_commit_then_published_once_rendered(world):
    token = world.session()
    world.upload(token)
    assert str(world.wharf.publisher.request(UPLOADER, token).status) == "processing"
    with pytest.raises(SessionNotEditableError):
        world.wharf.sessions.cancel(UPLOADER, token)
    with pytest.raises(SessionNotEditableError):
        world.add(token, SDIST, sdist_bytes())
    assert world.deliver() == ["published"]
    assert world.status(token) == "published"
    with pytest.raises(AlreadyPublishedError):
        world.wharf.publisher.request(UPLOADER, token)
    with pytest.raises(AlreadyPublishedError):
        world.wharf.sessions.cancel(UPLOADER, token)
    assert [f.filename for f in world.wharf.stores.catalog.committed_files("acme-tools")] == [WHEEL]


def test_committed_reads_processing_until_the_index_shows_it(world):
    token = world.session()
    world.upload(token)
    world.wharf.publisher.request(UPLOADER, token)
    session = world.wharf.stores.sessions.get_session(token)
    project = world.memory.projects["acme-tools"]
    # Committed but not rendered: the record says published, the client sees processing.
    committed = session.model_copy(
        update={"status": SessionStatus.PUBLISHED, "published_serial": 5}
    )
    world.memory.sessions[token] = committed
    world.memory.projects["acme-tools"] = project.model_copy(update={"rendered_serial": 4})
    assert world.status(token) == "processing"
    world.memory.projects["acme-tools"] = project.model_copy(update={"rendered_serial": 5})
    assert world.status(token) == "published"


def test_a_failed_last_attempt_ends_in_error_and_frees_the_names(world, monkeypatch):
    token = world.session()
    world.upload(token)
    world.wharf.publisher.request(UPLOADER, token)
    world.bucket.take_events()  # the publish request's event is lost; we run it by hand

    def broken(*args, **kwargs):
        raise RuntimeError("DynamoDB is down")

    monkeypatch.setattr(world.wharf.stores.catalog, "put_release_files", broken)
    assert world.wharf.publisher.run(token, attempt=5) == "error"
    assert world.status(token) == "error"
    assert world.wharf.stores.filenames.claim(WHEEL) is None
    monkeypatch.undo()
    world.wharf.publisher.request(UPLOADER, token)  # error -> processing again
    assert world.deliver() == ["published"]


def test_cancel_and_expiry_purge_everything(world, clock):
    token = world.session()
    world.upload(token)
    canceled = world.wharf.sessions.cancel(UPLOADER, token)
    assert canceled.status is SessionStatus.CANCELED
    assert not [k for k in world.bucket.objects if token in k]
    assert world.wharf.stores.sessions.purge_due() == []
    with pytest.raises(NotFoundError):  # data URLs of a canceled session 404
        world.add(token, SDIST, sdist_bytes())
    late = world.session(version="2.0")
    world.add(late, "acme_tools-2.0.tar.gz", sdist_bytes(version="2.0"))
    clock.advance(hours=25)
    assert world.wharf.sessions.expire_due() == 1
    assert world.status(late) == "canceled"
    assert not world.bucket.uploads


def test_filename_rules(world):
    first = world.session()
    world.upload(first)
    world.wharf.publisher.request(UPLOADER, first)
    world.deliver()
    token = world.session(version="1.0.0")
    with pytest.raises(FilenameTakenError):
        world.add(token, "acme_tools-1.0.0-py3-none-any.whl")  # the same file to pip
    other = world.session(version="2.0")
    name = "acme_tools-2.0-py3-none-any.whl"
    data = wheel_bytes(version="2.0", metadata=metadata_text("acme-tools", "2.0"))
    world.add(other, name, data)
    with pytest.raises(FileInSessionError):
        world.add(other, name, data)
    with pytest.raises(FileTooLargeError):
        world.add(other, "acme_tools-2.0.tar.gz", size=10**15)
    with pytest.raises(UnprocessableError):
        world.add(other, "acme_tools-2.0.tar.gz", mechanism="carrier-pigeon")


def test_mechanisms_keep_to_their_own_requests(world):
    token = world.session()
    view, data = world.add(token, mechanism="vnd-wharf-s3multipart-presigned-v1")
    with pytest.raises(MechanismMismatchError):
        world.send(token, view.file.file_id, data)
    described = view.file.part_size
    assert described and described >= 5 * 1024 * 1024


def test_a_processing_file_cannot_be_deleted(world):
    token = world.session()
    view, data = world.add(token)
    world.send(token, view.file.file_id, data)
    world.wharf.files.complete(UPLOADER, token, view.file.file_id)
    with pytest.raises(FileNotPendingError):
        world.wharf.files.cancel(UPLOADER, token, view.file.file_id)
    world.deliver()
    world.wharf.files.cancel(UPLOADER, token, view.file.file_id)
    assert world.wharf.files.view(UPLOADER, token, view.file.file_id).status is (
        FileStatus.CANCELED
    )


def test_the_doors_do_not_mix(world):
    data = wheel_bytes()
    fields = {
        ":action": ["file_upload"],
        "name": ["acme-tools"],
        "version": ["1.0"],
        "staged": ["true"],
        "sha256_digest": [sha256(data)],
    }
    staged = world.wharf.legacy.upload(UPLOADER, LegacyUpload(fields, WHEEL, data)).staged
    assert staged is not None and str(staged.status) == "open"
    with pytest.raises(MixedUploadPathsError):
        world.add(staged.session.token, SDIST, sdist_bytes())


def test_a_legacy_upload_is_a_one_file_release(world):
    data = wheel_bytes()
    fields = {":action": ["file_upload"], "name": ["acme-tools"], "version": ["1.0"]}
    assert world.wharf.legacy.upload(UPLOADER, LegacyUpload(fields, WHEEL, data)).published
    again = world.wharf.legacy.upload(UPLOADER, LegacyUpload(fields, WHEEL, data))
    assert again.unchanged
    claim = world.wharf.stores.filenames.claim(WHEEL)
    assert claim.published and claim.sha256 == sha256(data)


def test_repair_validates_a_file_whose_event_was_lost(world, clock):
    token = world.session()
    view, data = world.add(token)
    world.send(token, view.file.file_id, data)
    world.wharf.files.complete(UPLOADER, token, view.file.file_id)
    world.bucket.take_events()  # lost
    assert world.wharf.repair.run()["files"] == 0  # not overdue yet
    clock.advance(minutes=11)
    assert world.wharf.repair.run()["files"] == 1
    assert world.wharf.files.view(UPLOADER, token, view.file.file_id).status is (
        FileStatus.COMPLETED
    )
