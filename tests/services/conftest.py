"""The services on the in-memory fakes, built through the front door (``wiring.build``)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import pytest

from chalicelib import wiring
from chalicelib.domain.tokens import Principal, Role
from chalicelib.events.storage import handle_staged_object
from chalicelib.services.mechanisms import TransferRequest
from chalicelib.settings import Settings
from tests.builders import sha256, wheel_bytes
from tests.fakes import Bucket, Counted, Memory, memory_stores

WHEEL = "acme_tools-1.0-py3-none-any.whl"
UPLOADER = Principal(token_id="uploader", role=Role.UPLOAD, projects=("acme-*",))


@dataclass
class World:
    wharf: wiring.Container
    memory: Memory
    bucket: Bucket

    def deliver(self) -> list[str]:
        """Every S3 event of the fake bucket, to the handler the SQS Lambda runs."""
        outcomes = []
        while events := self.bucket.take_events():
            for key, size in events:
                outcomes.append(handle_staged_object(self.wharf, key, size, attempt=1))
        return outcomes

    def session(self, name: str = "acme-tools", version: str = "1.0", who=UPLOADER) -> str:
        return self.wharf.sessions.create(who, name, version).token

    def add(self, token: str, filename: str = WHEEL, data: bytes | None = None, **overrides):
        data = wheel_bytes() if data is None else data
        fields = {
            "filename": filename,
            "size": len(data),
            "hashes": {"sha256": sha256(data)},
            "mechanism": "http-post-bytes",
            **overrides,
        }
        return self.wharf.files.create(UPLOADER, token, **fields), data

    def send(self, token: str, file_id: str, data: bytes, mechanism="http-post-bytes"):
        request = TransferRequest("POST", "application/octet-stream", data)
        return self.wharf.files.transfer(UPLOADER, token, file_id, mechanism, "bytes", request)

    def upload(self, token: str, filename: str = WHEEL, data: bytes | None = None) -> str:
        """Create, send, complete and validate one file; its id."""
        view, data = self.add(token, filename, data)
        self.send(token, view.file.file_id, data)
        self.wharf.files.complete(UPLOADER, token, view.file.file_id)
        self.deliver()
        return view.file.file_id

    def status(self, token: str) -> str:
        return str(self.wharf.sessions.view(UPLOADER, token).status)


@pytest.fixture
def world(clock) -> World:
    stores, memory, bucket = memory_stores()
    settings = Settings(table_name="unused", bucket_name="unused", queue_arn="unused")
    return World(wiring.build(settings, clock=clock, stores=stores), memory, bucket)


@pytest.fixture
def counted(clock):
    """``build(**settings)``: a world whose catalog and object store record the calls made
    to them (the names of their methods, in order), and that list."""

    def build(**overrides) -> tuple[World, list[str]]:
        stores, memory, bucket = memory_stores()
        calls: list[str] = []
        stores = dataclasses.replace(
            stores,
            catalog=Counted(stores.catalog, calls),
            objects=Counted(stores.objects, calls),
        )
        settings = Settings(
            table_name="unused", bucket_name="unused", queue_arn="unused", **overrides
        )
        world = World(wiring.build(settings, clock=clock, stores=stores), memory, bucket)
        return world, calls

    return build
