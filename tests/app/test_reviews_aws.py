"""The review step on DynamoDB, S3 and the SQS review queue (moto): the announcement a
reviewer receives, and what the table and bucket hold after each verdict."""

from __future__ import annotations

import json

import pytest
import requests

from tests.builders import sha256, wheel_bytes
from tests.conftest import basic
from tests.upload_client import UploadClient, deliver_events

pytestmark = pytest.mark.moto

WHEEL = "acme_tools-1.0-py3-none-any.whl"


def receive(aws) -> list[dict]:
    messages = aws.clients.sqs.receive_message(
        QueueUrl=aws.resources.review_queue_url, MaxNumberOfMessages=10
    ).get("Messages", [])
    return [json.loads(m["Body"]) for m in messages]


def verdict(http, admin, review_id, **body):
    return http.request(
        "POST",
        f"/admin/reviews/{review_id}/verdicts",
        headers={**basic(admin), "Content-Type": "application/json"},
        body=json.dumps(body).encode(),
    )


@pytest.fixture
def reviewed(rebuild, aws):
    return rebuild(reviewers="scanner", review_queue_url=aws.resources.review_queue_url)


def test_announced_on_sqs_then_rejected_into_quarantine(
    reviewed, aws, http, issue, admin, app_client
):
    uploader = UploadClient(http, issue("upload", ("acme-*",)))
    data = wheel_bytes()
    session = uploader.create()
    file = uploader.upload(session, WHEEL, data)
    deliver_events(app_client, aws)
    [message] = receive(aws)
    assert message["kind"] == "wharf.review.requested"
    assert message["filename"] == WHEEL and message["digests"]["sha256"] == sha256(data)
    # The presigned URL really serves the bytes (moto checks the signature).
    assert requests.get(message["download_url"], timeout=30).content == data
    assert "Name: acme-tools" in message["metadata"]

    rejected = verdict(
        http, admin, message["review_id"], reviewer="scanner", decision="reject", reason="no"
    )
    assert rejected.status_code == 200, rejected.body
    assert uploader.file_status(file).json["status"] == "error"
    s3, bucket = aws.clients.s3, aws.resources.bucket
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
    [kept] = [k for k in keys if k.startswith("quarantine/")]
    assert s3.get_object(Bucket=bucket, Key=kept)["Body"].read() == data
    assert not [k for k in keys if k.startswith("staging/") and k.endswith(WHEEL)]
    # DynamoDB: the review item settled and off the sweeper's list.
    table = aws.resources.table
    item = aws.clients.dynamodb.get_item(
        TableName=table, Key={"PK": {"S": f"REVIEW#{message['review_id']}"}, "SK": {"S": "REVIEW"}}
    )["Item"]
    assert item["state"]["S"] == "rejected"
    assert "GSI1PK" not in item
    assert item["verdicts"]["M"]["scanner"]["M"]["reason"]["S"] == "no"


def test_approved_on_dynamodb_and_the_session_publishes(
    reviewed, aws, http, issue, admin, app_client
):
    uploader = UploadClient(http, issue("upload", ("acme-*",)))
    session = uploader.create()
    file = uploader.upload(session, WHEEL, wheel_bytes())
    deliver_events(app_client, aws)
    [message] = receive(aws)
    assert uploader.file_status(file).json["status"] == "processing"
    approved = verdict(http, admin, message["review_id"], reviewer="scanner", decision="approve")
    assert json.loads(approved.body)["state"] == "approved"
    assert uploader.file_status(file).json["status"] == "completed"
    published = uploader.call(
        "POST", session.json["links"]["publish"], {"meta": {"api-version": "2.0"}}
    )
    assert published.status == 202
