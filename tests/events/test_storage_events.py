"""S3 → SQS events fed through the app's own handler (chalice.test.Client)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chalicelib.events.storage import ObjectCreated, objects_created
from tests.fakes import lambda_sqs_attributes

EVENTS = Path(__file__).resolve().parent.parent / "fixtures" / "events"


def sqs_event(*bodies: str) -> dict:
    return {
        "Records": [
            {
                "messageId": f"m-{i}",
                "receiptHandle": "r",
                "body": body,
                "attributes": lambda_sqs_attributes(),
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:wharf-events",
                "awsRegion": "us-east-1",
            }
            for i, body in enumerate(bodies)
        ]
    }


def test_every_record_of_a_message_is_read_and_keys_unquoted():
    body = (EVENTS / "s3-object-created-two-records.json").read_text()
    assert objects_created(sqs_event(body)) == [
        ObjectCreated(
            bucket="wharf-packages-123456789012-us-east-1",
            key="staging/s-1/acme_tools-1.0-py3-none-any.whl",
            size=1024,
            etag="d41d8cd98f00b204e9800998ecf8427e-2",
        ),
        ObjectCreated(
            bucket="wharf-packages-123456789012-us-east-1",
            key="staging/s-1/acme tools+-1.0.tar.gz",
            size=2048,
            etag="0cc175b9c0f1b6a831c399e269772661",
        ),
    ]


def test_test_event_is_ignored():
    assert objects_created(sqs_event((EVENTS / "s3-test-event.json").read_text())) == []


@pytest.mark.parametrize("body", ["not json", '{"Records": [{"eventName": 1}]}', "[]"])
def test_foreign_messages_raise_so_they_reach_the_dlq(body):
    with pytest.raises(ValueError):
        objects_created(sqs_event(body))


def test_moto_notification_reaches_the_handler(app_client, aws, log_lines):
    """A real notification, as moto (made faithful) queues it, through the app's handler."""
    key = "staging/tok/fid/acme tools-1.0.tar.gz"
    aws.clients.s3.put_object(Bucket=aws.resources.bucket, Key=key, Body=b"x" * 10)
    aws.clients.s3.put_object(Bucket=aws.resources.bucket, Key="simple/other", Body=b"x")
    messages = aws.clients.sqs.receive_message(
        QueueUrl=aws.resources.queue_url, MaxNumberOfMessages=10
    )["Messages"]
    for message in messages:
        app_client.lambda_.invoke("on_storage_event", sqs_event(message["Body"]))
    received = [
        json.loads(line) for line in log_lines().splitlines() if '"staged object handled"' in line
    ]
    # The notification filter let only the staging object through; no session owns it.
    assert [(r["key"], r["outcome"]) for r in received] == [
        (key, "ignored: no such file upload session")
    ]
