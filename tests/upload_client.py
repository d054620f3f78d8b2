"""Drive the Upload 2.0 API through chalice.test.Client, following the links it returns."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlparse

from tests.builders import sha256
from tests.conftest import basic
from tests.fakes import lambda_sqs_attributes

V2 = "application/vnd.pypi.upload.v2+json"
META = {"api-version": "2.0"}


def path_of(url: str) -> str:
    return urlparse(url).path


class Reply:
    def __init__(self, raw) -> None:
        self.status = raw.status_code
        self.headers = raw.headers
        self.raw = raw.body
        self.json: Any = json.loads(raw.body) if raw.body else None

    def __repr__(self) -> str:
        return f"<Reply {self.status} {self.json}>"


class UploadClient:
    def __init__(self, http, secret: str) -> None:
        self.http = http
        self.secret = secret

    def call(
        self, method: str, url: str, body: Any = None, *, headers=None, raw: bytes | None = None
    ):
        all_headers = {**basic(self.secret)}
        if body is not None:
            all_headers["Content-Type"] = V2
            raw = json.dumps(body).encode()
        all_headers.update(headers or {})
        reply = self.http.request(method, path_of(url), headers=all_headers, body=raw or b"")
        return Reply(reply)

    def create(self, name: str = "acme-tools", version: str = "1.0", **extra) -> Reply:
        return self.call(
            "POST", "/upload/", {"meta": META, "name": name, "version": version, **extra}
        )

    def session(self, created: Reply) -> Reply:
        return self.call("GET", created.json["links"]["session"])

    def add_file(self, session: Reply, filename: str, data: bytes, **overrides) -> Reply:
        body = {
            "meta": META,
            "filename": filename,
            "size": len(data),
            "hashes": {"sha256": sha256(data)},
            "mechanism": "http-post-bytes",
            **overrides,
        }
        return self.call("POST", session.json["links"]["upload"], body)

    def send_bytes(self, file: Reply, data: bytes, content_type="application/octet-stream"):
        return self.call(
            "POST",
            file.json["mechanism"]["file_url"],
            headers={"Content-Type": content_type},
            raw=data,
        )

    def complete(self, file: Reply) -> Reply:
        return self.call("POST", file.json["links"]["complete"], {"meta": META})

    def file_status(self, file: Reply) -> Reply:
        return self.call("GET", file.json["links"]["file-upload-session"])

    def delete_file(self, file: Reply) -> Reply:
        return self.call("DELETE", file.json["links"]["file-upload-session"])

    def cancel(self, session: Reply) -> Reply:
        return self.call("DELETE", session.json["links"]["session"])

    def extend(self, session: Reply, seconds: int) -> Reply:
        return self.call(
            "POST", session.json["links"]["extend"], {"meta": META, "extend-for": seconds}
        )

    def upload(self, session: Reply, filename: str, data: bytes) -> Reply:
        """Create, send and complete one file; returns the file creation reply."""
        file = self.add_file(session, filename, data)
        assert file.status == 202, file
        sent = self.send_bytes(file, data)
        assert sent.status == 204, sent
        done = self.complete(file)
        assert done.status == 202, done
        return file


def _s3_notification(key: str, size: int) -> str:
    """The SQS body S3 sends when ``key`` appears (keys URL-encoded, as S3 does)."""
    from urllib.parse import quote_plus

    record = {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": "us-east-1",
        "eventTime": "2001-01-01T12:00:00.000Z",
        "eventName": "ObjectCreated:Put",
        "userIdentity": {"principalId": "wharf"},
        "requestParameters": {"sourceIPAddress": "127.0.0.1"},
        "responseElements": {"x-amz-request-id": "1", "x-amz-id-2": "1"},
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": "staged",
            "bucket": {
                "name": "wharf-test-packages",
                "ownerIdentity": {"principalId": "wharf"},
                "arn": "arn:aws:s3:::wharf-test-packages",
            },
            "object": {"key": quote_plus(key), "size": size, "eTag": "0", "sequencer": "0"},
        },
    }
    return json.dumps({"Records": [record]})


def _deliver_memory_events(app_client, world) -> int:
    """The fakes' bucket events, through the app's SQS handler as moto's would arrive."""
    delivered = 0
    while events := world.bucket.take_events():
        for number, (key, size) in enumerate(events):
            body = _s3_notification(key, size)
            event = {
                "Records": [
                    {
                        "messageId": f"m-{delivered}-{number}",
                        "receiptHandle": "r",
                        "body": body,
                        "attributes": lambda_sqs_attributes(),
                        "messageAttributes": {},
                        "md5OfBody": "0",
                        "eventSource": "aws:sqs",
                        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:wharf-test-events",
                        "awsRegion": "us-east-1",
                    }
                ]
            }
            app_client.lambda_.invoke("on_storage_event", event)
            delivered += 1
    return delivered


def deliver_events(app_client, aws) -> int:
    """Run every queued S3 notification through the app's own SQS handler, as Lambda would."""
    if not hasattr(aws, "clients"):
        return _deliver_memory_events(app_client, aws)
    delivered = 0
    while True:
        messages = aws.clients.sqs.receive_message(
            QueueUrl=aws.resources.queue_url, MaxNumberOfMessages=10
        ).get("Messages", [])
        if not messages:
            return delivered
        for message in messages:
            event = {
                "Records": [
                    {
                        "messageId": message["MessageId"],
                        "receiptHandle": message["ReceiptHandle"],
                        "body": message["Body"],
                        "attributes": lambda_sqs_attributes(),
                        "messageAttributes": {},
                        "md5OfBody": message["MD5OfBody"],
                        "eventSource": "aws:sqs",
                        "eventSourceARN": aws.resources.queue_arn,
                        "awsRegion": "us-east-1",
                    }
                ]
            }
            app_client.lambda_.invoke("on_storage_event", event)
            aws.clients.sqs.delete_message(
                QueueUrl=aws.resources.queue_url, ReceiptHandle=message["ReceiptHandle"]
            )
            delivered += 1


def publish(client: UploadClient, session: Reply) -> Reply:
    return client.call("POST", session.json["links"]["publish"], {"meta": META})


def release(
    client: UploadClient, app_client, aws, name: str, version: str, files: dict[str, bytes]
):
    """Create a session, upload and validate ``files``, publish, and run the publisher."""
    session = client.create(name=name, version=version)
    assert session.status == 201, session
    for filename, data in files.items():
        client.upload(session, filename, data)
    deliver_events(app_client, aws)
    published = publish(client, session)
    assert published.status == 202, published
    deliver_events(app_client, aws)
    return session
