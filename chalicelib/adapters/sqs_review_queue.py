"""The review queue: one SQS message per file announced to the operator's reviewers."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any


class SqsReviewQueue:
    def __init__(self, client: Any, queue_url: str) -> None:
        self._client = client
        self._queue_url = queue_url

    def announce(self, message: Mapping[str, Any]) -> None:
        self._client.send_message(
            QueueUrl=self._queue_url,
            MessageBody=json.dumps(message, sort_keys=True),
            MessageAttributes={
                "kind": {"DataType": "String", "StringValue": str(message.get("kind", ""))}
            },
        )


class NoReviewQueue:
    """No reviewers configured: nothing is ever announced."""

    def announce(self, message: Mapping[str, Any]) -> None:
        raise AssertionError("a file was announced with no review queue configured")
