"""The example reviewer's loop: one announcement at a time from the review queue.

It does what an operator's own reviewer would: read the message, fetch the bytes from the
presigned URL, apply the rules, and post the verdict to the admin API with an admin token.
A message is deleted once wharf has the verdict (200) or says the review is closed (409);
on anything else it comes back after the queue's visibility timeout.
"""

from __future__ import annotations

import json
import tempfile
import threading
import traceback
from typing import Any

import requests

from ..worker import pause
from .rules import Rule, review
from .sample_rules import sample_rules

NAME = "example"
# Spill downloads to disk past this; a distribution can be far larger than memory allows.
SPOOL_BYTES = 64 * 1024 * 1024
CHUNK = 1024 * 1024


def decide(filename: str, download_url: str, rules: list[Rule]) -> tuple[str, str | None]:
    """(decision, reason) for one file."""
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as spool:
        with requests.get(download_url, stream=True, timeout=60) as response:
            response.raise_for_status()
            for chunk in response.iter_content(CHUNK):
                spool.write(chunk)
        spool.seek(0)
        try:
            findings = review(filename, spool, rules)  # type: ignore[arg-type]
        except Exception as error:  # an archive the rules cannot read is not approved
            return "reject", f"the example reviewer could not read the archive ({error})"
    if findings:
        return "reject", "; ".join(str(f) for f in findings[:10])
    return "approve", None


class ExampleReviewer(threading.Thread):
    def __init__(
        self,
        sqs: Any,
        queue_url: str,
        wharf_url: str,
        admin_token: str,
        *,
        rules: list[Rule] | None = None,
        name: str = NAME,
    ) -> None:
        super().__init__(name=f"wharf-reviewer-{name}", daemon=True)
        self._sqs = sqs
        self._queue_url = queue_url
        self._wharf_url = wharf_url.rstrip("/")
        self._auth = ("__token__", admin_token)
        self._rules = rules if rules is not None else sample_rules()
        self._reviewer = name
        self._stopping = threading.Event()

    def stop(self) -> None:
        self._stopping.set()

    def run(self) -> None:
        while not self._stopping.is_set():
            try:
                response = self._sqs.receive_message(
                    QueueUrl=self._queue_url, MaxNumberOfMessages=1, WaitTimeSeconds=1
                )
                for message in response.get("Messages", []):
                    if self._handle(json.loads(message["Body"])):
                        self._sqs.delete_message(
                            QueueUrl=self._queue_url, ReceiptHandle=message["ReceiptHandle"]
                        )
            except Exception:
                if self._stopping.is_set():
                    return
                traceback.print_exc()
                pause(self._stopping, 1)

    def _handle(self, announcement: dict[str, Any]) -> bool:
        """Review one file and post the verdict; whether the message is done with."""
        if self._reviewer not in announcement.get("reviewers", []):
            return True
        # Ask wharf for the review first: a repeated or late message finds it settled, and
        # an open one comes with fresh download URLs.
        current = requests.get(
            f"{self._wharf_url}/admin/reviews/{announcement['review_id']}",
            auth=self._auth,
            timeout=30,
        )
        if current.status_code == 404:
            return True
        current.raise_for_status()
        review = current.json()
        if review["state"] != "open" or self._reviewer in review["verdicts"]:
            return True
        fresh = review["announcement"]
        decision, reason = decide(fresh["filename"], fresh["download_url"], self._rules)
        body: dict[str, Any] = {"reviewer": self._reviewer, "decision": decision}
        if reason:
            body["reason"] = reason
        posted = requests.post(
            self._wharf_url + announcement["verdicts_path"],
            json=body,
            auth=self._auth,
            timeout=30,
        )
        print(
            f"wharf reviewer {self._reviewer}: {announcement['filename']} -> {decision}"
            f" ({posted.status_code})",
            flush=True,
        )
        return posted.status_code in (200, 409)
