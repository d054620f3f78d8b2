"""Close the gaps between moto and AWS that wharf's correctness depends on.

Both are applied by the local stack and by the test suite, so tests exercise
wharf's logic against AWS's documented behaviour rather than against moto's gaps.
"""

from __future__ import annotations

import itertools
import threading
from typing import Any

_lock = threading.RLock()
_sequence = itertools.count(1)


def serialize_dynamodb_requests() -> None:
    """Make each DynamoDB request atomic, as DynamoDB is.

    moto evaluates a ConditionExpression and then writes without a lock, so two
    threads can both pass the same condition; real DynamoDB never lets that happen.
    """
    from moto.dynamodb.responses import DynamoHandler

    original = DynamoHandler.call_action
    if getattr(original, "_wharf_patched", False):
        return

    def call_action(self: Any) -> Any:
        with _lock:
            return original(self)

    call_action._wharf_patched = True  # type: ignore[attr-defined]
    DynamoHandler.call_action = call_action  # type: ignore[method-assign]


def complete_s3_notifications() -> None:
    """Give moto's S3 event records the members AWS always sends.

    moto leaves out ``userIdentity``, ``requestParameters``, ``responseElements``,
    the bucket's ``ownerIdentity`` and the object's ``sequencer``, all of which the
    documented record structure (and the Powertools S3 model) has.
    """
    from moto.s3 import notifications

    original = notifications._get_s3_event
    if getattr(original, "_wharf_patched", False):
        return

    def get_s3_event(*args: Any, **kwargs: Any) -> dict[str, Any]:
        event = original(*args, **kwargs)
        for record in event["Records"]:
            record.setdefault("userIdentity", {"principalId": "AWS:WHARFLOCAL"})
            record.setdefault("requestParameters", {"sourceIPAddress": "127.0.0.1"})
            record.setdefault(
                "responseElements",
                {"x-amz-request-id": "WHARFLOCAL", "x-amz-id-2": "WHARFLOCAL"},
            )
            record["s3"]["bucket"].setdefault("ownerIdentity", {"principalId": "WHARFLOCAL"})
            record["s3"]["object"].setdefault("sequencer", f"{next(_sequence):016X}")
        return event

    get_s3_event._wharf_patched = True  # type: ignore[attr-defined]
    notifications._get_s3_event = get_s3_event


def serialize_conditional_s3_writes() -> None:
    """Make S3's conditional PutObject (If-Match / If-None-Match) atomic, as S3 is.

    moto compares the ETag and then writes without a lock, so two writers could both
    pass the same precondition.
    """
    from moto.s3.responses import S3Response

    original = S3Response.put_object
    if getattr(original, "_wharf_patched", False):
        return

    def put_object(self: Any) -> Any:
        if self.headers.get("If-Match") or self.headers.get("If-None-Match"):
            with _lock:
                return original(self)
        return original(self)

    put_object._wharf_patched = True  # type: ignore[attr-defined]
    S3Response.put_object = put_object  # type: ignore[method-assign]


def sqs_long_poll_by_sleeping() -> None:
    """Make moto's SQS long poll wait by sleeping, not by a timed ``Condition.wait``.

    The suite is also run with the clock moved (libfaketime, to prove it passes on any
    date); there a timed wait on a lock never returns, because CPython waits with
    ``sem_clockwait``, which libfaketime 0.9 does not intercept. A long poll would then
    hang until a message arrived, and never see a message whose visibility timeout ran
    out. Polling the queue every 20 ms behaves the same on every clock.
    """
    import time

    from moto.sqs.models import Queue

    original = Queue.wait_for_messages
    if getattr(original, "_wharf_patched", False):
        return

    def wait_for_messages(self: Any, timeout: int) -> None:
        deadline = time.monotonic() + timeout
        while not self.messages and time.monotonic() < deadline:
            time.sleep(0.02)

    wait_for_messages._wharf_patched = True  # type: ignore[attr-defined]
    Queue.wait_for_messages = wait_for_messages  # type: ignore[method-assign]


def apply() -> None:
    serialize_dynamodb_requests()
    complete_s3_notifications()
    serialize_conditional_s3_writes()
    sqs_long_poll_by_sleeping()


def presigned_expiry(app: Any) -> Any:
    """WSGI middleware: refuse a presigned request past its X-Amz-Expires, as S3 does.

    moto accepts presigned URLs forever, so a client's recovery from a stale URL could
    never be exercised against it.
    """
    from datetime import UTC, datetime, timedelta
    from urllib.parse import parse_qs

    def middleware(environ: dict[str, Any], start_response: Any) -> Any:
        query = parse_qs(environ.get("QUERY_STRING", ""))
        signed_at = query.get("X-Amz-Date", [None])[0]
        lifetime = query.get("X-Amz-Expires", [None])[0]
        if signed_at and lifetime:
            issued = datetime.strptime(signed_at, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
            if datetime.now(UTC) > issued + timedelta(seconds=int(lifetime)):
                body = (
                    b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code>'
                    b"<Message>Request has expired</Message></Error>"
                )
                start_response(
                    "403 Forbidden",
                    [("Content-Type", "application/xml"), ("Content-Length", str(len(body)))],
                )
                return [body]
        return app(environ, start_response)

    return middleware
