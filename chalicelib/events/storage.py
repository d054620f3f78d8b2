"""S3 notifications that reach wharf through SQS."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools.utilities.parser.models import S3Model
from pydantic import ValidationError

from ..domain.layout import parse_publish_request_key
from ..observability import logger


@dataclass(frozen=True)
class ObjectCreated:
    bucket: str
    key: str
    size: int
    etag: str | None


def _is_test_event(body: Any) -> bool:
    return isinstance(body, dict) and body.get("Event") == "s3:TestEvent"


def objects_created(sqs_event: dict[str, Any]) -> list[ObjectCreated]:
    """Every ObjectCreated record in every SQS message of a Lambda SQS event.

    S3 may pack several records into one message, and sends an ``s3:TestEvent``
    when a notification is configured: those carry nothing to do. A message that
    is neither raises ``ValueError``, so SQS retries it and parks it in the DLQ.
    """
    found: list[ObjectCreated] = []
    for message in sqs_event.get("Records", []):
        raw = message.get("body", "")
        try:
            body = json.loads(raw)
        except ValueError as error:
            raise ValueError(f"SQS message {message.get('messageId')} is not JSON") from error
        if _is_test_event(body):
            logger.info("ignoring S3 test event", extra={"message_id": message.get("messageId")})
            continue
        try:
            parsed = S3Model.model_validate(body)
        except (ValidationError, AttributeError, TypeError) as error:
            # The Powertools model's own validator trips on some malformed shapes.
            raise ValueError(
                f"SQS message {message.get('messageId')} is not an S3 notification"
            ) from error
        for record in parsed.Records:
            if not record.eventName.startswith("ObjectCreated:"):
                continue
            found.append(
                ObjectCreated(
                    bucket=record.s3.bucket.name,
                    # Keys in notifications are URL-encoded, with '+' for spaces.
                    key=unquote_plus(record.s3.object.key),
                    size=record.s3.object.size or 0,
                    etag=record.s3.object.eTag,
                )
            )
    return found


def attempt_of(record: dict[str, Any]) -> int:
    """Which delivery of an SQS message this is (1 on the first)."""
    try:
        return int(record.get("attributes", {}).get("ApproximateReceiveCount", "1"))
    except (TypeError, ValueError):
        return 1


def handle_staged_object(container: Any, key: str, size: int, *, attempt: int) -> str:
    """Route a staged object to the publisher (a publish request) or the validator."""
    token = parse_publish_request_key(key)
    if token is not None:
        return str(container.publisher.run(token, attempt=attempt))
    return str(container.validator.object_arrived(key, size, redelivered=attempt > 1))
