"""A storage-event function deployed without the provenance layer does nothing, says so,
and leaves the event to SQS; once the layer is there, the redelivery finishes the work."""

from __future__ import annotations

import json
import sys

import pytest

from chalicelib import provenance_layer
from tests.builders import wheel_bytes
from tests.conftest import basic
from tests.events.test_storage_events import sqs_event
from tests.upload_client import UploadClient, _s3_notification, publish

pytestmark = pytest.mark.memory

WHEEL = "acme_tools-1.0-py3-none-any.whl"


@pytest.fixture
def uploader(http, issue):
    return UploadClient(http, issue("upload", ("acme-*",)))


@pytest.fixture
def without_layer(monkeypatch):
    """What a function without the layer sees: sigstore cannot be imported."""
    monkeypatch.setattr(provenance_layer, "_present", False)
    monkeypatch.setitem(sys.modules, "sigstore", None)
    return monkeypatch


def queued(aws) -> list[dict]:
    return [sqs_event(_s3_notification(key, size)) for key, size in aws.bucket.take_events()]


def refused_deliveries(app_client, events) -> int:
    refused = 0
    for event in events:
        with pytest.raises(provenance_layer.ProvenanceLayerMissing):
            app_client.lambda_.invoke("on_storage_event", event)
        refused += 1
    return refused


def deliver(app_client, events) -> None:
    for event in events:
        app_client.lambda_.invoke("on_storage_event", event)


def test_without_the_layer_nothing_is_validated_or_published_until_it_is_attached(
    uploader, http, issue, app_client, aws, log_lines, without_layer
):
    session = uploader.create()
    file = uploader.upload(session, WHEEL, wheel_bytes())
    first = queued(aws)

    assert refused_deliveries(app_client, first) == len(first) >= 1

    assert uploader.file_status(file).json["status"] == "processing"
    errors = [json.loads(line) for line in log_lines().splitlines() if "provenance layer" in line]
    assert errors and {e["level"] for e in errors} == {"ERROR"}
    assert errors[0]["missing_modules"] == ["sigstore"]

    without_layer.undo()  # the layer attached: SQS delivers the same events again
    deliver(app_client, first)
    assert uploader.file_status(file).json["status"] == "completed"

    without_layer.setattr(provenance_layer, "_present", False)
    without_layer.setitem(sys.modules, "readme_renderer", None)
    assert publish(uploader, session).status == 202
    publishing = queued(aws)
    assert refused_deliveries(app_client, publishing) == len(publishing) >= 1
    assert uploader.session(session).json["status"] == "processing"
    reader = basic(issue("read"))
    assert http.get("/simple/acme-tools/", headers=reader).status_code == 404

    without_layer.undo()
    deliver(app_client, publishing)
    assert uploader.session(session).json["status"] == "published"
    assert http.get("/simple/acme-tools/", headers=reader).status_code == 200
