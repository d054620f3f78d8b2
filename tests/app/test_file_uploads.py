"""Upload 2.0 file upload sessions, http-post-bytes and validation, through the app on moto."""

from __future__ import annotations

import pytest

from chalicelib.domain.sessions import FileStatus, SessionStatus
from tests.builders import metadata_text, sdist_bytes, sha256, wheel_bytes
from tests.upload_client import META, UploadClient, deliver_events, path_of

# Contract-tested fakes (tests/adapters) unless a test reads AWS itself (marked moto).
pytestmark = pytest.mark.memory

WHEEL = "acme_tools-1.0-py3-none-any.whl"
SDIST = "acme_tools-1.0.tar.gz"


@pytest.fixture
def session(uploader):
    created = uploader.create()
    assert created.status == 201
    return created


def staged_objects(aws) -> list[str]:
    listed = aws.clients.s3.list_object_versions(Bucket=aws.resources.bucket, Prefix="staging")
    return [v["Key"] for v in listed.get("Versions", [])]


def open_multipart(aws) -> list[str]:
    listed = aws.clients.s3.list_multipart_uploads(Bucket=aws.resources.bucket)
    return [u["Key"] for u in listed.get("Uploads", [])]


def test_create_file_upload_session(uploader, session):
    data = wheel_bytes()
    file = uploader.add_file(session, WHEEL, data)
    assert file.status == 202, file
    assert int(file.headers["Retry-After"]) >= 1
    assert set(file.json["links"]) == {"file-upload-session", "complete", "extend"}
    assert file.json["status"] == "pending"
    assert file.json["mechanism"]["identifier"] == "http-post-bytes"
    assert file.json["mechanism"]["file_url"].startswith("http")
    listed = uploader.session(session).json["files"]
    assert listed[WHEEL]["status"] == "pending"
    assert listed[WHEEL]["link"] == file.json["links"]["file-upload-session"]


@pytest.mark.moto  # reads AWS itself
def test_wheel_and_sdist_end_to_end(uploader, session, app_client, aws):
    wheel, sdist = wheel_bytes(), sdist_bytes()
    files = [uploader.upload(session, WHEEL, wheel), uploader.upload(session, SDIST, sdist)]
    processing = uploader.file_status(files[0])
    assert processing.json["status"] == "processing"
    assert processing.headers["Retry-After"]
    assert deliver_events(app_client, aws) >= 2
    for file in files:
        assert uploader.file_status(file).json["status"] == "completed"
    listed = uploader.session(session).json["files"]
    assert {name: f["status"] for name, f in listed.items()} == {
        WHEEL: "completed",
        SDIST: "completed",
    }
    # The extracted metadata is kept beside each file, where it is served from (PEP 658).
    keys = [
        o["Key"]
        for o in aws.clients.s3.list_objects_v2(Bucket=aws.resources.bucket, Prefix="files/u/")[
            "Contents"
        ]
    ]
    assert sorted(k.rsplit("/", 1)[1] for k in keys) == sorted(
        [SDIST, f"{SDIST}.metadata", WHEEL, f"{WHEEL}.metadata"]
    )


@pytest.mark.moto  # reads AWS itself
def test_delete_file_leaves_files_and_reports_canceled(uploader, session, app_client, aws):
    file = uploader.upload(session, WHEEL, wheel_bytes())
    deliver_events(app_client, aws)
    assert uploader.delete_file(file).status == 204
    assert WHEEL not in uploader.session(session).json["files"]
    assert uploader.file_status(file).json["status"] == "canceled"
    assert not staged_objects(aws)
    # The same filename may now be uploaded afresh, with new URLs.
    again = uploader.add_file(session, WHEEL, wheel_bytes())
    assert again.status == 202
    assert again.json["links"]["file-upload-session"] != file.json["links"]["file-upload-session"]


@pytest.mark.moto  # reads AWS itself
def test_cancel_session_purges_and_404s_data_urls(uploader, session, app_client, aws):
    wheel = wheel_bytes()
    done = uploader.upload(session, WHEEL, wheel)
    deliver_events(app_client, aws)
    pending = uploader.add_file(session, SDIST, sdist_bytes())
    canceled = uploader.cancel(session)
    assert canceled.status == 200
    assert canceled.json["status"] == "canceled"
    assert canceled.json["files"] == {}
    assert uploader.session(session).json["status"] == "canceled"
    assert uploader.file_status(done).json["status"] == "canceled"
    assert not staged_objects(aws) and not open_multipart(aws)
    # Data-bearing URLs no longer accept anything.
    assert uploader.send_bytes(pending, b"x").status == 404
    assert uploader.complete(pending).status == 404
    assert uploader.add_file(session, SDIST, sdist_bytes()).status == 404
    assert uploader.extend(session, 60).status == 404
    assert uploader.cancel(session).status == 409


# --- the file upload session state table (PEP 694), row by row -----------------------


def test_F1_create_is_pending(uploader, session):
    assert uploader.add_file(session, WHEEL, wheel_bytes()).json["status"] == "pending"


def test_F2_bytes_keep_pending(uploader, session):
    data = wheel_bytes()
    file = uploader.add_file(session, WHEEL, data)
    assert uploader.send_bytes(file, data).status == 204
    assert uploader.file_status(file).json["status"] == "pending"


def test_F4_complete_goes_processing(uploader, session):
    data = wheel_bytes()
    file = uploader.add_file(session, WHEEL, data)
    uploader.send_bytes(file, data)
    done = uploader.complete(file)
    assert done.status == 202
    assert done.headers["Location"] == file.json["links"]["file-upload-session"]
    assert done.json["status"] == "processing"


def test_F5_complete_without_bytes_fails_into_error(uploader, session):
    file = uploader.add_file(session, WHEEL, wheel_bytes())
    done = uploader.complete(file)
    assert done.status == 400
    status = uploader.file_status(file).json
    assert status["status"] == "error"
    assert "no bytes were uploaded" in status["notices"][0]


@pytest.mark.moto  # reads AWS itself
def test_F6_cancel_pending(uploader, session, aws):
    file = uploader.add_file(session, WHEEL, wheel_bytes())
    assert uploader.delete_file(file).status == 204
    assert uploader.file_status(file).json["status"] == "canceled"
    assert not open_multipart(aws)


def test_F7_processing_to_completed(uploader, session, app_client, aws):
    file = uploader.upload(session, WHEEL, wheel_bytes())
    deliver_events(app_client, aws)
    assert uploader.file_status(file).json["status"] == "completed"


@pytest.mark.moto  # reads AWS itself
def test_F8_processing_to_error_with_notice(uploader, session, app_client, aws):
    data = wheel_bytes(metadata=metadata_text(name="someone-else"))
    file = uploader.upload(session, WHEEL, data)
    deliver_events(app_client, aws)
    status = uploader.file_status(file).json
    assert status["status"] == "error"
    assert any("does not match the project" in n for n in status["notices"])
    listed = uploader.session(session).json["files"][WHEEL]
    assert listed["status"] == "error" and listed["notices"] == status["notices"]
    assert not staged_objects(aws)


def test_F9_delete_while_processing_is_409(uploader, session):
    file = uploader.upload(session, WHEEL, wheel_bytes())
    assert uploader.delete_file(file).status == 409
    assert uploader.file_status(file).json["status"] == "processing"


def test_F10_delete_completed(uploader, session, app_client, aws):
    file = uploader.upload(session, WHEEL, wheel_bytes())
    deliver_events(app_client, aws)
    assert uploader.delete_file(file).status == 204
    assert uploader.file_status(file).json["status"] == "canceled"


def test_F11_delete_error(uploader, session, app_client, aws):
    file = uploader.upload(session, WHEEL, wheel_bytes(metadata=metadata_text(version="9")))
    deliver_events(app_client, aws)
    assert uploader.file_status(file).json["status"] == "error"
    assert uploader.delete_file(file).status == 204
    assert uploader.file_status(file).json["status"] == "canceled"


def test_F12_parent_cancel_cancels_files(uploader, session):
    file = uploader.add_file(session, WHEEL, wheel_bytes())
    uploader.cancel(session)
    assert uploader.file_status(file).json["status"] == "canceled"


def test_F13_same_filename_while_in_session_is_409(uploader, session):
    uploader.add_file(session, WHEEL, wheel_bytes())
    again = uploader.add_file(session, WHEEL, wheel_bytes())
    assert again.status == 409


def test_F14_canceled_is_not_reusable(uploader, session):
    data = wheel_bytes()
    file = uploader.add_file(session, WHEEL, data)
    uploader.delete_file(file)
    assert uploader.delete_file(file).status == 409
    assert uploader.send_bytes(file, data).status == 404
    assert uploader.complete(file).status == 404


def test_F16_extend_file_extends_its_session(uploader, session):
    file = uploader.add_file(session, WHEEL, wheel_bytes())
    extended = uploader.call(
        "POST", file.json["links"]["extend"], {"meta": META, "extend-for": 600}
    )
    assert extended.status == 200
    assert extended.json["expires-at"] > file.json["expires-at"]


def test_F17_complete_twice_is_409(uploader, session):
    file = uploader.upload(session, WHEEL, wheel_bytes())
    assert uploader.complete(file).status == 409


# --- publishing session rows that involve files ---------------------------------------


def test_P2_file_changes_keep_session_open(uploader, session, app_client, aws):
    file = uploader.upload(session, WHEEL, wheel_bytes())
    deliver_events(app_client, aws)
    uploader.delete_file(file)
    assert uploader.session(session).json["status"] == "open"


@pytest.mark.moto  # reads AWS itself
def test_P10_cancel_while_processing_is_409(uploader, session, wharf, aws):
    token = session.json["session-token"]
    # Put the session in processing directly, as a publish in progress would.
    aws.clients.dynamodb.update_item(
        TableName=wharf.settings.table_name,
        Key={"PK": {"S": f"SESSION#{token}"}, "SK": {"S": "SESSION"}},
        UpdateExpression="SET #s = :p",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":p": {"S": str(SessionStatus.PROCESSING)}},
    )
    assert uploader.cancel(session).status == 409
    assert uploader.session(session).json["status"] == "processing"
    assert uploader.add_file(session, WHEEL, wheel_bytes()).status == 409


# --- validation is idempotent -----------------------------------------------------------


@pytest.mark.moto  # reads AWS itself
def test_same_event_twice_changes_nothing(uploader, session, app_client, aws, wharf):
    file = uploader.upload(session, WHEEL, wheel_bytes())
    bodies = [
        m["Body"]
        for m in aws.clients.sqs.receive_message(
            QueueUrl=aws.resources.queue_url, MaxNumberOfMessages=10
        )["Messages"]
    ]
    key = next(k for k in staged_objects(aws))
    assert wharf.validator.object_arrived(key, 0) == "completed"
    first = uploader.file_status(file).json
    assert wharf.validator.object_arrived(key, 0) == "ignored: the file is completed"
    assert uploader.file_status(file).json == first
    assert bodies


@pytest.mark.moto  # reads AWS itself
def test_event_for_canceled_file_changes_nothing(uploader, session, wharf, aws):
    file = uploader.upload(session, WHEEL, wheel_bytes())
    key = staged_objects(aws)[0]
    uploader.cancel(session)
    assert wharf.validator.object_arrived(key, 0) == "ignored: the session is canceled"
    assert uploader.file_status(file).json["status"] == "canceled"


@pytest.mark.moto  # reads AWS itself
def test_racing_deliveries_decide_once(uploader, session, wharf, aws):
    import threading

    file = uploader.upload(session, WHEEL, wheel_bytes())
    key = staged_objects(aws)[0]
    outcomes: list[str] = []
    barrier = threading.Barrier(4)

    def deliver() -> None:
        barrier.wait()
        outcomes.append(wharf.validator.object_arrived(key, 0))

    threads = [threading.Thread(target=deliver) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count("completed") == 1, outcomes
    assert uploader.file_status(file).json["status"] == "completed"


# --- http-post-bytes -----------------------------------------------------------------------


def test_bytes_length_must_match(uploader, session):
    data = wheel_bytes()
    file = uploader.add_file(session, WHEEL, data)
    reply = uploader.send_bytes(file, data[:-1])
    assert reply.status == 400
    assert "declared" in reply.json["detail"]
    assert uploader.file_status(file).json["status"] == "pending"


def test_bytes_content_type_must_be_octet_stream(uploader, session):
    data = wheel_bytes()
    file = uploader.add_file(session, WHEEL, data)
    assert uploader.send_bytes(file, data, content_type="text/plain").status == 415


def test_bytes_above_inline_limit_413_names_multipart(uploader, session, rebuild):
    data = wheel_bytes()
    file = uploader.add_file(session, WHEEL, data)
    rebuild(inline_limit_bytes=100)
    reply = uploader.send_bytes(file, data)
    assert reply.status == 413, reply
    assert "vnd-wharf-s3multipart-presigned-v1" in reply.json["detail"]


def test_another_uploader_may_join(uploader, session, http, issue, app_client, aws):
    colleague = UploadClient(http, issue("upload", ("acme-tools",)))
    file = colleague.upload(session, WHEEL, wheel_bytes())
    deliver_events(app_client, aws)
    assert uploader.file_status(file).json["status"] == "completed"


def test_revoked_mid_upload_is_403(uploader, session, wharf):
    data = wheel_bytes()
    file = uploader.add_file(session, WHEEL, data)
    token_id = wharf.tokens.list()[-1].record.id
    wharf.tokens.revoke(token_id)
    assert uploader.send_bytes(file, data).status == 403
    assert uploader.complete(file).status == 403


def test_hashes_all_checked_after_upload(uploader, session, app_client, aws):
    import hashlib

    data = wheel_bytes()
    hashes = {"sha256": sha256(data), "sha512": hashlib.sha512(b"not it").hexdigest()}
    file = uploader.add_file(session, WHEEL, data, hashes=hashes)
    uploader.send_bytes(file, data)
    uploader.complete(file)
    deliver_events(app_client, aws)
    status = uploader.file_status(file).json
    assert status["status"] == "error"
    assert status["notices"] == ["hash-mismatch: the sha512 digest does not match the one declared"]


def test_file_urls_live_under_the_session(uploader, session):
    file = uploader.add_file(session, WHEEL, wheel_bytes())
    assert path_of(file.json["links"]["file-upload-session"]).startswith(
        path_of(session.json["links"]["session"])
    )
    assert file.json["status"] == FileStatus.PENDING
