"""S3 notifications that reach wharf through SQS."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

from pydantic import ValidationError

from ..domain.layout import parse_publish_request_key
from ..observability import logger


@dataclass(frozen=True)
class ObjectCreated:
    bucket: str
    key: str
    size: int
    etag: str | None
    # Which delivery of its SQS message this is (1 on the first): the publisher gives up on
    # the queue's last one instead of leaving the session in processing.
    attempt: int = 1


def _is_test_event(body: Any) -> bool:
    return isinstance(body, dict) and body.get("Event") == "s3:TestEvent"


def objects_created(sqs_event: dict[str, Any]) -> list[ObjectCreated]:
    """Every ObjectCreated record in every SQS message of a Lambda SQS event.

    The envelope is read with Powertools' ``SqsModel``. S3 may pack several records into
    one message, and sends an ``s3:TestEvent`` when a notification is configured: those
    carry nothing to do. A message that is neither raises ``ValueError``, so SQS retries it
    and parks it in the DLQ.
    """
    # Imported here, by the event handler only: the parser's models package defines every
    # event source's models at once, a quarter of a second the API's cold start need not pay.
    from aws_lambda_powertools.utilities.parser.models import S3Model, SqsModel

    try:
        envelope = SqsModel.model_validate(sqs_event)
    except ValidationError as error:
        raise ValueError("not an SQS event from Lambda's event source mapping") from error
    found: list[ObjectCreated] = []
    for message in envelope.Records:
        if not isinstance(message.body, str):  # SqsModel's body is the message text
            raise ValueError(f"SQS message {message.messageId} has no text body")
        try:
            body = json.loads(message.body)
        except ValueError as error:
            raise ValueError(f"SQS message {message.messageId} is not JSON") from error
        if _is_test_event(body):
            logger.info("ignoring S3 test event", extra={"message_id": message.messageId})
            continue
        try:
            parsed = S3Model.model_validate(body)
        except (ValidationError, AttributeError, TypeError) as error:
            # The Powertools model's own validator trips on some malformed shapes.
            raise ValueError(
                f"SQS message {message.messageId} is not an S3 notification"
            ) from error
        attempt = int(message.attributes.ApproximateReceiveCount)
        for record in parsed.Records:
            created = record.s3.object
            if not record.eventName.startswith("ObjectCreated:") or created is None:
                continue
            found.append(
                ObjectCreated(
                    bucket=record.s3.bucket.name,
                    # Keys in notifications are URL-encoded, with '+' for spaces.
                    key=unquote_plus(created.key),
                    size=int(created.size or 0),
                    etag=created.eTag,
                    attempt=attempt,
                )
            )
    return found


def handle_staged_object(container: Any, key: str, size: int, *, attempt: int) -> str:
    """Route a staged object to the publisher (a publish request) or the validator."""
    token = parse_publish_request_key(key)
    if token is not None:
        return str(container.publisher.run(token, attempt=attempt))
    return str(container.validator.object_arrived(key, size, redelivered=attempt > 1))
