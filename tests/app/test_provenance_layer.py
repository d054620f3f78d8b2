"""A storage-event function deployed without the provenance layer does nothing, says so,
and leaves the event to SQS; once the layer is there, the redelivery finishes the work."""

from __future__ import annotations

import json
import sys

import pytest

from chalicelib import provenance_layer
from chalicelib.domain.tokens import Role, TokenRequest, new_record, new_secret
from tests.app.test_attestations import PUBLIC, _legacy
from tests.attestation_fixtures import GITHUB, needs_real_date
from tests.builders import wheel_bytes
from tests.conftest import basic
from tests.events.test_storage_events import sqs_event
from tests.upload_client import _s3_notification, publish

pytestmark = pytest.mark.memory

WHEEL = "acme_tools-1.0-py3-none-any.whl"


@pytest.fixture
def without_layer(monkeypatch):
    """What a function without the layer sees: sigstore cannot be imported."""
    monkeypatch.setattr(provenance_layer, "_present", False)
    monkeypatch.setitem(sys.modules, "sigstore", None)
    return monkeypatch


@pytest.fixture
def trusted_publisher_secret(rebuild, clock) -> str:
    """An upload token as trusted publishing mints it for GITHUB's workflow."""
    world = rebuild(public_url=PUBLIC)
    secret = new_secret()
    request = TokenRequest(role=Role.UPLOAD, projects=[GITHUB.project])
    record = new_record(request, secret, clock()).model_copy(update={"publisher": GITHUB.publisher})
    world.stores.tokens.add(record, expire_at=None)
    return secret


def layer_errors(lines: str) -> list[dict]:
    logged = [json.loads(line) for line in lines.splitlines()]
    return [line for line in logged if line["message"].startswith("provenance layer missing")]


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
    errors = layer_errors(log_lines())
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


@needs_real_date
def test_a_legacy_upload_with_attestations_without_the_layer_fails_and_publishes_nothing(
    http, trusted_publisher_secret, log_lines, without_layer
):
    """The legacy API verifies attestations within the request: without the layer the
    upload fails as a server error (the client may retry), never published unchecked."""
    secret = trusted_publisher_secret

    refused = _legacy(http, secret, GITHUB, GITHUB.attestations_json())

    assert refused.status_code == 500
    assert b"provenance" not in refused.body  # the details are the operator's, in the log
    errors = layer_errors(log_lines())
    assert [e["missing_modules"] for e in errors] == [["sigstore"]]
    assert http.get(f"/simple/{GITHUB.project}/", headers=basic(secret)).status_code == 404

    without_layer.undo()
    assert _legacy(http, secret, GITHUB, GITHUB.attestations_json()).status_code == 200
