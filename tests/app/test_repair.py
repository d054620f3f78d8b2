"""Work a crashed Lambda left half done is finished by the sweeper."""

from __future__ import annotations

import pytest

from tests.builders import wheel_bytes
from tests.upload_client import UploadClient, deliver_events, publish

# Contract-tested fakes (tests/adapters) unless a test reads AWS itself (marked moto).
pytestmark = pytest.mark.memory

WHEEL = "acme_tools-1.0-py3-none-any.whl"


def crash(*args: object) -> None:
    raise RuntimeError("the Lambda died here")


def test_completion_interrupted_before_s3_is_finished(
    http, issue, app_client, aws, wharf, clock, monkeypatch
):
    client = UploadClient(http, issue("upload", ("acme-*",)))
    session = client.create()
    data = wheel_bytes()
    file = client.add_file(session, WHEEL, data)
    client.send_bytes(file, data)
    # The Lambda dies after marking the file processing, before CompleteMultipartUpload.
    monkeypatch.setattr(
        wharf.stores.staging,
        "finish_upload",
        crash,
    )
    with pytest.raises(RuntimeError):
        wharf.files.complete(
            wharf.tokens.authenticate(client.secret),
            session.json["session-token"],
            file.json["links"]["file-upload-session"].rsplit("/", 1)[1],
        )
    monkeypatch.undo()
    assert client.file_status(file).json["status"] == "processing"
    assert wharf.repair.run() == {
        "files": 0,
        "publishes": 0,
        "renders": 0,
    }  # not stuck long enough yet
    clock.advance(minutes=11)
    assert wharf.repair.run()["files"] == 1
    deliver_events(app_client, aws)
    assert client.file_status(file).json["status"] == "completed"


@pytest.mark.moto  # reads AWS itself
def test_publish_request_lost_is_written_again(http, issue, app_client, aws, wharf, clock):
    client = UploadClient(http, issue("upload", ("acme-*",)))
    session = client.create()
    client.upload(session, WHEEL, wheel_bytes())
    deliver_events(app_client, aws)
    assert publish(client, session).status == 202
    # The request object's event is lost (say, the Lambda died before writing it).
    aws.clients.sqs.purge_queue(QueueUrl=aws.resources.queue_url)
    clock.advance(minutes=11)
    assert wharf.repair.run()["publishes"] == 1
    deliver_events(app_client, aws)
    assert client.session(session).json["status"] == "published"


@pytest.mark.moto  # reads AWS itself
def test_published_means_installable_and_a_lost_render_is_redone(
    http, issue, app_client, aws, wharf, clock, monkeypatch
):
    """A release that committed but whose index render died reads as ``processing`` (a CI
    job that installs after ``published`` must find it); the sweeper renders it later."""
    import json

    from tests.conftest import basic

    client = UploadClient(http, issue("upload", ("acme-*",)))
    reader = basic(issue("read"))
    session = client.create()
    client.upload(session, WHEEL, wheel_bytes())
    deliver_events(app_client, aws)
    assert publish(client, session).status == 202
    monkeypatch.setattr(wharf.publisher, "render_project", crash)
    with pytest.raises(RuntimeError):
        deliver_events(app_client, aws)
    monkeypatch.undo()
    aws.clients.sqs.purge_queue(QueueUrl=aws.resources.queue_url)  # the retry is lost too
    assert client.session(session).json["status"] == "processing"
    assert http.get("/simple/acme-tools/", headers=reader).status_code == 404
    assert wharf.repair.run()["renders"] == 0  # not overdue yet
    clock.advance(minutes=11)
    assert wharf.repair.run()["renders"] == 1
    assert client.session(session).json["status"] == "published"
    page = http.get(
        "/simple/acme-tools/", headers={**reader, "Accept": "application/vnd.pypi.simple.v1+json"}
    )
    assert [f["filename"] for f in json.loads(page.body)["files"]] == [WHEEL]
    assert wharf.repair.run()["renders"] == 0  # done: nothing left due
