"""The Upload 2.0 and legacy protocols as a state machine (hypothesis): random sequences of
session and file operations, events delivered once, twice or out of order, clock jumps and
two actors at once, with wharf's invariants checked after every step.

`make test` runs a fixed number of examples; set `WHARF_HYPOTHESIS_PROFILE=long` for more.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    invariant,
    multiple,
    precondition,
    rule,
)
from moto import mock_aws
from urllib3 import encode_multipart_formdata

from chalicelib import wiring
from chalicelib.domain.tokens import Role, TokenRequest
from chalicelib.settings import Settings
from tests.builders import metadata_text, sdist_bytes, sha256, wheel_bytes
from tests.conftest import EPOCH, FakeClock, basic
from tests.fakes import lambda_sqs_attributes
from tests.faults.harness import check_invariants, table_items
from tests.upload_client import META, UploadClient
from wharf_stack.resources import create_resources

PROJECT = "acme-tools"
VERSIONS = ("1.0", "1.0.0", "2.0")
SALTS = (b"a", b"b")

# PEP 694's session states, and where each may go next as a client observes them.
ALLOWED = {
    "open": {"open", "processing", "canceled", "error"},
    "error": {"error", "open", "processing", "canceled"},
    "processing": {"processing", "published", "error"},
    "published": {"published", "gone"},
    "canceled": {"canceled", "gone"},
    "gone": {"gone"},
}

settings.register_profile(
    "wharf-default",
    max_examples=12,
    stateful_step_count=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
settings.register_profile(
    "long",
    max_examples=200,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


def _wheel(version: str, salt: bytes) -> tuple[str, bytes]:
    filename = f"acme_tools-{version}-py3-none-any.whl"
    data = wheel_bytes(
        "acme_tools",
        version,
        metadata=metadata_text(PROJECT, version),
        files={"acme_tools/salt.py": b"SALT = " + repr(salt).encode() + b"\n"},
    )
    return filename, data


def _sdist(version: str, salt: bytes) -> tuple[str, bytes]:
    return f"acme_tools-{version}.tar.gz", sdist_bytes("acme_tools", version) + b"" * len(salt)


class Protocol(RuleBasedStateMachine):
    sessions = Bundle("sessions")
    files = Bundle("files")

    def __init__(self) -> None:
        super().__init__()
        self._mock = mock_aws()
        self._mock.start()
        clients = wiring.aws_clients()
        self.resources = create_resources(
            clients.s3, clients.dynamodb, clients.sqs, prefix="wharf-sm"
        )
        self.clock = FakeClock(EPOCH)
        settings_ = Settings(
            table_name=self.resources.table,
            bucket_name=self.resources.bucket,
            queue_arn=self.resources.queue_arn,
        )
        self.wharf = wiring.build(settings_, clients, clock=self.clock)
        wiring.use(self.wharf)
        from chalice.test import Client

        from app import app

        self._client_cm = Client(app)
        self.app_client = self._client_cm.__enter__()
        secret = self.wharf.tokens.issue(TokenRequest(role=Role.UPLOAD, projects=["acme-*"])).secret
        self.client = UploadClient(self.app_client.http, secret)
        self.aws = _Aws(clients, self.resources)
        self.seen_status: dict[str, str] = {}
        self.published: dict[str, str] = {}  # filename -> sha256, once visible
        self.lock = threading.Lock()

    def teardown(self) -> None:
        self._client_cm.__exit__(None, None, None)
        wiring.use(None)
        self._mock.stop()

    # --- rules -----------------------------------------------------------------------------

    @rule(target=sessions, version=st.sampled_from(VERSIONS))
    def create_session(self, version: str) -> Any:
        reply = self.client.create(name=PROJECT, version=version)
        assert reply.status in (201, 409), reply
        if reply.status == 409:
            assert reply.headers.get("Location")
            return multiple()
        self.seen_status[reply.json["session-token"]] = reply.json["status"]
        return reply

    @rule(
        target=files,
        session=sessions,
        kind=st.sampled_from(["wheel", "sdist"]),
        salt=st.sampled_from(SALTS),
        send=st.booleans(),
    )
    def add_file(self, session: Any, kind: str, salt: bytes, send: bool) -> Any:
        version = session.json["links"]["session"] and _version_of(self, session)
        filename, data = (_wheel if kind == "wheel" else _sdist)(version, salt)
        file = self.client.add_file(session, filename, data)
        assert file.status in (202, 400, 404, 409), file
        if file.status != 202:
            return multiple()
        if send:
            assert self.client.send_bytes(file, data).status in (204, 404, 409)
        file.data = data  # type: ignore[attr-defined]
        return file

    @rule(file=files)
    def send_and_complete(self, file: Any) -> None:
        sent = self.client.send_bytes(file, file.data)
        assert sent.status in (204, 400, 404, 409), sent
        done = self.client.complete(file)
        assert done.status in (202, 400, 404, 409), done

    @rule(file=consumes(files))
    def delete_file(self, file: Any) -> None:
        assert self.client.delete_file(file).status in (204, 404, 409)

    @rule(session=sessions)
    def cancel(self, session: Any) -> None:
        assert self.client.cancel(session).status in (200, 404, 409)

    @rule(session=sessions, seconds=st.sampled_from([1, 3600, 10**12]))
    def extend(self, session: Any, seconds: int) -> None:
        assert self.client.extend(session, seconds).status in (200, 404, 409)

    @rule(session=sessions)
    def publish(self, session: Any) -> None:
        reply = self.client.call("POST", session.json["links"]["publish"], {"meta": META})
        assert reply.status in (202, 404, 409), reply

    @rule(version=st.sampled_from(VERSIONS), salt=st.sampled_from(SALTS))
    def legacy_upload(self, version: str, salt: bytes) -> None:
        filename, data = _wheel(version, salt)
        assert self._legacy(filename, data, version) in (200, 400, 409)

    @rule(mode=st.sampled_from(["one", "twice", "reversed", "all"]))
    def deliver(self, mode: str) -> None:
        sqs = self.aws.clients.sqs
        url = self.resources.queue_url
        batch = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=1 if mode in ("one", "twice") else 10
        ).get("Messages", [])
        if mode == "reversed":
            batch.reverse()
        for message in batch:
            for _ in range(2 if mode == "twice" else 1):
                self._invoke(message)
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])

    @rule(minutes=st.sampled_from([1, 11, 25 * 60, 8 * 24 * 60]))
    def time_passes(self, minutes: int) -> None:
        self.clock.advance(minutes=minutes)
        self.wharf.sessions.expire_due()
        self.wharf.repair.run()

    @precondition(lambda self: True)
    @rule(version=st.sampled_from(VERSIONS), salt=st.sampled_from(SALTS))
    def legacy_races_the_publisher(self, version: str, salt: bytes) -> None:
        """Two actors at once: a legacy upload while queued publishes run."""
        filename, data = _wheel(version, salt)
        worker = threading.Thread(target=self.deliver, args=("all",))
        worker.start()
        status = self._legacy(filename, data, version)
        worker.join()
        assert status in (200, 400, 409)

    @rule()
    def settle(self) -> None:
        """Everything delivered and swept: then the index equals the catalog exactly."""
        for _ in range(5):
            self.deliver("all")
        self.clock.advance(minutes=11)
        self.wharf.repair.run()
        self.deliver("all")
        problems = [
            p
            for p in check_invariants(self.aws, PROJECT, expect_published=None)
            # an open session may still hold names it tried to publish before an error
            if "reserved by" not in p
        ]
        assert not problems, problems

    # --- invariants ------------------------------------------------------------------------

    @invariant()
    def published_files_never_change_or_vanish(self) -> None:
        listed = self._index()
        for filename, digest in self.published.items():
            assert listed.get(filename) == digest, f"{filename} changed or vanished"
        for filename, digest in listed.items():
            self.published.setdefault(filename, digest)
            entry = self.wharf.stores.catalog.published_file(PROJECT, filename)
            key = entry.key if entry and entry.key else f"files/{PROJECT}/{filename}"
            body = self.aws.clients.s3.get_object(Bucket=self.resources.bucket, Key=key)[
                "Body"
            ].read()
            assert hashlib.sha256(body).hexdigest() == digest, f"{filename}'s bytes differ"

    @invariant()
    def index_shows_only_committed_files(self) -> None:
        items = table_items(self.aws, PROJECT)
        commits = {i["SK"][7:] for i in items if i["SK"].startswith("COMMIT#")}
        committed = {
            i["filename"]: i["sha256"]
            for i in items
            if i["SK"].startswith("FILE#") and i["PK"] == f"PROJECT#{PROJECT}"
            if i["session"] in commits
        }
        for filename, digest in self._index().items():
            assert committed.get(filename) == digest, f"{filename} listed but not committed"
        # One spelling per release: 1.0 and 1.0.0 never both carry a wheel.
        versions = {name.split("-")[1] for name in self._index() if name.endswith(".whl")}
        assert not {"1.0", "1.0.0"} <= versions, versions

    @invariant()
    def session_statuses_move_as_pep_694_allows(self) -> None:
        for token, before in list(self.seen_status.items()):
            reply = self.client.call("GET", f"/upload/{token}")
            now = "gone" if reply.status == 404 else reply.json["status"]
            assert now in ALLOWED[before], f"session {token[:8]}: {before} -> {now}"
            self.seen_status[token] = now

    # --- helpers ---------------------------------------------------------------------------

    def _index(self) -> dict[str, str]:
        try:
            body = self.aws.clients.s3.get_object(
                Bucket=self.resources.bucket, Key=f"simple/{PROJECT}/index.json"
            )["Body"].read()
        except self.aws.clients.s3.exceptions.NoSuchKey:
            return {}
        return {f["filename"]: f["hashes"]["sha256"] for f in json.loads(body)["files"]}

    def _legacy(self, filename: str, data: bytes, version: str) -> int:
        fields = {
            ":action": "file_upload",
            "protocol_version": "1",
            "name": PROJECT,
            "version": version,
            "filetype": "bdist_wheel",
            "sha256_digest": sha256(data),
        }
        body, content_type = encode_multipart_formdata(
            [*fields.items(), ("content", (filename, data, "application/octet-stream"))]
        )
        headers = {**basic(self.client.secret), "Content-Type": content_type}
        with self.lock:  # chalice's test client is not thread-safe; the services are
            return self.app_client.http.post("/legacy/", headers=headers, body=body).status_code

    def _invoke(self, message: dict[str, Any]) -> None:
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
                    "eventSourceARN": self.resources.queue_arn,
                    "awsRegion": "us-east-1",
                }
            ]
        }
        with self.lock:
            self.app_client.lambda_.invoke("on_storage_event", event)


class _Aws:
    def __init__(self, clients: Any, resources: Any) -> None:
        self.clients = clients
        self.resources = resources


def _version_of(machine: Protocol, session: Any) -> str:
    return session.version if hasattr(session, "version") else _session_version(machine, session)


def _session_version(machine: Protocol, session: Any) -> str:
    token = session.json["session-token"]
    return machine.wharf.stores.sessions.get_session(token).version  # the session's own


Protocol.TestCase.settings = settings.get_profile(
    os.environ.get("WHARF_HYPOTHESIS_PROFILE", "wharf-default")
)
test_protocol = Protocol.TestCase
