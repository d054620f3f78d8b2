"""Feed the queue's real SQS messages to the app's own event handler, as Lambda would."""

from __future__ import annotations

import threading
import time
import traceback
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from chalice.local import LambdaContext

Handler = Callable[[dict[str, Any], Any], Any]


def pause(stopping: threading.Event, seconds: float) -> bool:
    """Sleep up to ``seconds`` unless ``stopping`` is set; True when it is.

    Not ``Event.wait(timeout)``: with the clock moved by libfaketime (how the suite is
    checked against other dates) a timed wait on a lock never returns, because CPython
    waits with ``sem_clockwait``, which libfaketime 0.9 does not intercept; ``sleep`` it does.
    """
    deadline = time.monotonic() + seconds
    while not stopping.is_set():
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        time.sleep(min(left, 0.2))
    return True


class QueueWorker(threading.Thread):
    """Long-polls one queue and runs each message through ``handler`` (batch size 1).

    A message is deleted only after the handler returns; on failure it becomes
    visible again after ``retry_delay`` seconds, and the queue's redrive policy
    moves it to the dead-letter queue after its ``maxReceiveCount``.
    """

    def __init__(
        self,
        sqs: Any,
        queue_url: str,
        queue_arn: str,
        handler: Handler,
        *,
        region: str,
        retry_delay: int = 1,
        wait_seconds: int = 1,
    ) -> None:
        super().__init__(daemon=True)
        self._sqs = sqs
        self._queue_url = queue_url
        self._queue_arn = queue_arn
        self._handler = handler
        self._region = region
        self._retry_delay = retry_delay
        self._wait = wait_seconds
        self._stopping = threading.Event()

    def stop(self) -> None:
        self._stopping.set()

    def run(self) -> None:
        while not self._stopping.is_set():
            try:
                response = self._sqs.receive_message(
                    QueueUrl=self._queue_url,
                    MaxNumberOfMessages=1,
                    WaitTimeSeconds=self._wait,
                    AttributeNames=["All"],
                    MessageAttributeNames=["All"],
                )
            except Exception:
                if self._stopping.is_set():
                    return
                traceback.print_exc()
                pause(self._stopping, 1)
                continue
            for message in response.get("Messages", []):
                self._deliver(message)

    def _deliver(self, message: dict[str, Any]) -> None:
        event = {"Records": [self._lambda_record(message)]}
        context = LambdaContext("wharf-local-events", memory_size=1024, max_runtime_ms=300_000)
        try:
            self._handler(event, context)
        except Exception:
            traceback.print_exc()
            self._sqs.change_message_visibility(
                QueueUrl=self._queue_url,
                ReceiptHandle=message["ReceiptHandle"],
                VisibilityTimeout=self._retry_delay,
            )
            return
        self._sqs.delete_message(QueueUrl=self._queue_url, ReceiptHandle=message["ReceiptHandle"])

    def _lambda_record(self, message: dict[str, Any]) -> dict[str, Any]:
        """The SQS record shape Lambda's event source mapping hands to a function."""
        attributes = {
            name: _lambda_message_attribute(value)
            for name, value in message.get("MessageAttributes", {}).items()
        }
        return {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": message.get("Attributes", {}),
            "messageAttributes": attributes,
            "md5OfBody": message.get("MD5OfBody", ""),
            "eventSource": "aws:sqs",
            "eventSourceARN": self._queue_arn,
            "awsRegion": self._region,
        }


def _lambda_message_attribute(value: dict[str, Any]) -> dict[str, Any]:
    """Lambda spells message attributes in camelCase where the SQS API uses PascalCase."""
    return {
        "stringValue": value.get("StringValue"),
        "binaryValue": value.get("BinaryValue"),
        "stringListValues": value.get("StringListValues", []),
        "binaryListValues": value.get("BinaryListValues", []),
        "dataType": value.get("DataType"),
    }


class ScheduleRunner(threading.Thread):
    """Runs a scheduled handler every ``period`` seconds, as EventBridge would on its rate."""

    def __init__(self, name: str, handler: Handler, *, period: float, region: str) -> None:
        super().__init__(name=f"wharf-schedule-{name}", daemon=True)
        self._handler = handler
        self._period = period
        self._region = region
        self._stopping = threading.Event()

    def stop(self) -> None:
        self._stopping.set()

    def run(self) -> None:
        while not pause(self._stopping, self._period):
            event = {
                "version": "0",
                "id": uuid.uuid4().hex,
                "detail-type": "Scheduled Event",
                "source": "aws.events",
                "account": "123456789012",
                "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "region": self._region,
                "resources": [],
                "detail": {},
            }
            context = LambdaContext(self.name, memory_size=1024, max_runtime_ms=300_000)
            try:
                self._handler(event, context)
            except Exception:
                traceback.print_exc()
