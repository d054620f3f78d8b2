"""Fail the Nth AWS call wharf makes, then let redelivery and the sweeper run, and check
that nothing is left half done.

Faults are injected at the boto3 client boundary with botocore's event hooks, so every
call the services make (through any adapter, paginators included) is counted the same
way. Three kinds, each raised after botocore's own retries would have given up:

- ``throttle``: the call is refused before it reaches AWS (``ThrottlingException``);
- ``server-error``: likewise, an ``InternalError`` 500;
- ``timeout``: the call *was* carried out, but the answer never arrived
  (``ReadTimeoutError`` after the call) — the case idempotency has to survive.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError, ReadTimeoutError

KINDS = ("throttle", "server-error", "timeout")


class InjectedFault(Exception):
    """Marks the failures this harness caused, so tests can tell them from real bugs."""


class Faults:
    """Counts the AWS calls of the given clients and fails the one armed."""

    def __init__(self, *clients: Any) -> None:
        self.calls = 0
        self._armed: tuple[int, str] | None = None
        self.fired = False
        for client in clients:
            client.meta.events.register("before-call.*.*", self._before)
            client.meta.events.register("after-call.*.*", self._after)

    def arm(self, n: int, kind: str) -> None:
        self.calls, self._armed, self.fired = 0, (n, kind), False

    def count(self) -> None:
        self.calls, self._armed, self.fired = 0, None, False

    def disarm(self) -> None:
        self._armed = None

    def _hit(self, kind: str) -> bool:
        return self._armed is not None and self._armed == (self.calls, kind)

    def _before(self, model: Any, **_: Any) -> None:
        self.calls += 1
        for kind, code, status in (
            ("throttle", "ThrottlingException", 400),
            ("server-error", "InternalError", 500),
        ):
            if self._hit(kind):
                self.fired = True
                raise ClientError(
                    {
                        "Error": {"Code": code, "Message": "injected"},
                        "ResponseMetadata": {"HTTPStatusCode": status},
                    },
                    model.name,
                )

    def _after(self, model: Any, **_: Any) -> None:
        if self._hit("timeout"):
            self.fired = True
            raise ReadTimeoutError(endpoint_url=f"injected://{model.name}")


@dataclass
class Outcome:
    """What one fault run left behind, for the report."""

    scenario: str
    n: int
    kind: str
    problems: list[str] = field(default_factory=list)
    dead_letters: int = 0


def s3_keys(aws: Any, prefix: str) -> list[str]:
    s3 = aws.clients.s3
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=aws.resources.bucket, Prefix=prefix)
    return [o["Key"] for page in pages for o in page.get("Contents", [])]


def session_file_keys(aws: Any, token: str) -> list[str]:
    """Where each file of a session has (or had) its bytes."""
    from chalicelib.adapters.dynamo_table import from_item, to_item

    pages = aws.clients.dynamodb.get_paginator("query").paginate(
        TableName=aws.resources.table,
        KeyConditionExpression="PK = :pk AND begins_with(SK, :file)",
        ExpressionAttributeValues=to_item({":pk": f"SESSION#{token}", ":file": "FILE#"}),
    )
    items = [from_item(i) for page in pages for i in page.get("Items", [])]
    return [str(i["staged_key"]) for i in items if i.get("staged_key")]


def table_items(aws: Any, project: str) -> list[dict[str, Any]]:
    """The items about ``project`` (filtered server-side: the table holds every case's)."""
    from chalicelib.adapters.dynamo_table import from_item, to_item

    pages = aws.clients.dynamodb.get_paginator("scan").paginate(
        TableName=aws.resources.table,
        FilterExpression="#project = :project OR begins_with(PK, :pk)",
        ExpressionAttributeNames={"#project": "project"},
        ExpressionAttributeValues=to_item({":project": project, ":pk": f"PROJECT#{project}"}),
    )
    return [from_item(i) for page in pages for i in page.get("Items", [])]


def check_invariants(aws: Any, project: str, *, expect_published: set[str] | None) -> list[str]:
    """Everything a reader or a later upload could see for ``project`` is consistent.

    - the stored index page lists exactly the committed files, and each listed file's
      bytes are at its key with the listed sha256;
    - no filename is reserved unless published (nothing is in flight after recovery);
    - no session is stuck in ``processing``; a canceled session left no staged bytes and
      no multipart upload;
    - ``expect_published`` (when given) is exactly the set of files visible.
    """
    problems: list[str] = []
    s3 = aws.clients.s3
    bucket = aws.resources.bucket
    items = table_items(aws, project)
    committed_sessions = {
        i["SK"].removeprefix("COMMIT#")
        for i in items
        if i["PK"] == f"PROJECT#{project}" and i["SK"].startswith("COMMIT#")
    }
    committed = {
        i["filename"]: i["sha256"]
        for i in items
        if i["PK"] == f"PROJECT#{project}"
        and i["SK"].startswith("FILE#")
        and i["session"] in committed_sessions
    }
    try:
        page = json.loads(
            s3.get_object(Bucket=bucket, Key=f"simple/{project}/index.json")["Body"].read()
        )
        listed = {f["filename"]: f["hashes"]["sha256"] for f in page["files"]}
    except ClientError:
        listed = {}
    if listed != committed:
        problems.append(f"index {sorted(listed)} != catalog {sorted(committed)}")
    stored_at = {
        i["filename"]: i.get("key") or f"files/{project}/{filename}"
        for i in items
        if i["PK"] == f"PROJECT#{project}" and i["SK"].startswith("FILE#")
        for filename in [i["filename"]]
    }
    for filename, digest in listed.items():
        try:
            body = s3.get_object(Bucket=bucket, Key=stored_at[filename])["Body"].read()
        except ClientError:
            problems.append(f"{filename} is listed but has no bytes")
            continue
        if hashlib.sha256(body).hexdigest() != digest:
            problems.append(f"{filename}'s bytes do not match the listed sha256")
    if expect_published is not None and set(listed) != expect_published:
        problems.append(f"visible {sorted(listed)}, expected {sorted(expect_published)}")
    sessions = {
        i["token"]: i
        for i in items
        if i["SK"] == "SESSION" and i["PK"].startswith("SESSION#") and i["project"] == project
    }
    for item in items:
        reserved = item["PK"].startswith("FILENAME#") and item.get("project") == project
        if reserved and not item.get("published_at"):
            holder = str(item.get("session"))[:8]
            problems.append(f"{item['PK']} is reserved by {holder} but unpublished")
    for token, session in sessions.items():
        if session["status"] == "processing":
            problems.append(f"session {token[:8]} is stuck in processing")
        if session["status"] == "canceled":
            left = s3_keys(aws, f"staging/{token}/") + s3_keys(aws, f"staging-metadata/{token}/")
            for key in session_file_keys(aws, token):
                left += s3_keys(aws, key.rsplit("/", 1)[0] + "/")
            if left:
                problems.append(f"canceled session {token[:8]} left staged bytes {left}")
            uploads = s3.list_multipart_uploads(Bucket=bucket, Prefix=f"staging/{token}/")
            if uploads.get("Uploads"):
                problems.append(f"canceled session {token[:8]} left a multipart upload")
    return problems


def drain(
    app_client: Any, aws: Any, *, on_error: Callable[[BaseException], None] | None = None
) -> int:
    """Deliver queued messages as Lambda's event source mapping would, until none is left.

    A failed delivery is made visible again at once (as after its visibility timeout);
    the queue's redrive policy moves a message that keeps failing to the dead-letter
    queue. Returns how many deliveries failed.
    """
    sqs = aws.clients.sqs
    failures = 0
    for _ in range(200):
        messages = sqs.receive_message(
            QueueUrl=aws.resources.queue_url,
            MaxNumberOfMessages=1,
            AttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            return failures
        message = messages[0]
        event = {
            "Records": [
                {
                    "messageId": message["MessageId"],
                    "receiptHandle": message["ReceiptHandle"],
                    "body": message["Body"],
                    "attributes": message.get("Attributes", {}),
                    "messageAttributes": {},
                    "md5OfBody": message["MD5OfBody"],
                    "eventSource": "aws:sqs",
                    "eventSourceARN": aws.resources.queue_arn,
                    "awsRegion": "us-east-1",
                }
            ]
        }
        try:
            app_client.lambda_.invoke("on_storage_event", event)
        except Exception as error:  # the Lambda failed: SQS will deliver again
            failures += 1
            if on_error:
                on_error(error)
            sqs.change_message_visibility(
                QueueUrl=aws.resources.queue_url,
                ReceiptHandle=message["ReceiptHandle"],
                VisibilityTimeout=0,
            )
            continue
        sqs.delete_message(QueueUrl=aws.resources.queue_url, ReceiptHandle=message["ReceiptHandle"])
    raise AssertionError("the queue never drained")


def dead_letters(aws: Any) -> int:
    attributes = aws.clients.sqs.get_queue_attributes(
        QueueUrl=aws.resources.dlq_url, AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"])
