"""Every contract test runs twice: on the in-memory fakes and on DynamoDB and S3 (moto)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from packaging.version import Version

from chalicelib import wiring
from chalicelib.adapters.dynamo_table import file_key, session_key, to_item
from chalicelib.domain.catalog import ProjectState
from chalicelib.domain.lifecycle import FileStatus, SessionStatus
from chalicelib.domain.sessions import (
    FileRecord,
    SessionRecord,
    new_file_id,
    new_session_token,
    release_key,
)
from chalicelib.settings import Settings
from tests.fakes import Memory, memory_stores

NOW = datetime(2001, 1, 1, 12, 0, tzinfo=UTC)


@dataclass
class Backend:
    name: str
    stores: wiring.Stores
    memory: Memory | None = None
    aws: Any = None

    @property
    def sessions(self):
        return self.stores.sessions

    def force_session(self, token: str, status: SessionStatus) -> None:
        """Put a session in ``status`` without a transition (setting up a table cell)."""
        if self.memory is not None:
            current = self.memory.sessions[token]
            self.memory.sessions[token] = current.model_copy(update={"status": status})
            return
        self.aws.clients.dynamodb.update_item(
            TableName=self.aws.resources.table,
            Key=to_item(session_key(token)),
            UpdateExpression="SET #s = :s",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues=to_item({":s": str(status)}),
        )

    def force_file(self, record: FileRecord, status: FileStatus) -> None:
        if self.memory is not None:
            key = (record.session_token, record.file_id)
            self.memory.files[key] = self.memory.files[key].model_copy(update={"status": status})
            return
        self.aws.clients.dynamodb.update_item(
            TableName=self.aws.resources.table,
            Key=to_item(file_key(record.session_token, record.file_id)),
            UpdateExpression="SET #s = :s",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues=to_item({":s": str(status)}),
        )


@pytest.fixture(params=["memory", "aws"])
def backend(request) -> Backend:
    if request.param == "memory":
        stores, memory, _ = memory_stores()
        return Backend("memory", stores, memory=memory)
    aws = request.getfixturevalue("aws")
    settings = Settings(
        table_name=aws.resources.table,
        bucket_name=aws.resources.bucket,
        queue_arn=aws.resources.queue_arn,
    )
    return Backend("aws", wiring.AwsStores(settings, aws.clients), aws=aws)


def new_session(
    project: str = "acme-tools", version: str = "1.0", *, expires_in: timedelta | None = None
) -> SessionRecord:
    expires = NOW + (expires_in or timedelta(days=1))
    return SessionRecord(
        token=new_session_token(),
        project=project,
        version=version,
        status=SessionStatus.OPEN,
        created_at=NOW,
        expires_at=expires,
        max_expires_at=NOW + timedelta(days=7),
        created_by="tester",
        reserves_project=True,
    )


def open_session(backend: Backend, project: str = "acme-tools", version: str = "1.0", **kw):
    """A stored open session of a first release (the name reserved)."""
    record = new_session(project, version, **kw)
    project_record = backend.stores.catalog.project(project)
    state = project_record.state if project_record else ProjectState.NEW
    record = record.model_copy(update={"reserves_project": state is not ProjectState.PUBLISHED})
    backend.sessions.create_session(record, release=release_key(Version(version)), project=state)
    return record


def new_file(session: SessionRecord, filename: str = "acme_tools-1.0-py3-none-any.whl"):
    file_id = new_file_id()
    return FileRecord(
        session_token=session.token,
        file_id=file_id,
        filename=filename,
        size=10,
        hashes={"sha256": "0" * 64},
        mechanism="http-post-bytes",
        status=FileStatus.PENDING,
        created_at=NOW,
        staged_key=f"staging/{session.token}/{file_id}/{filename}",
        upload_id="u-1",
    )
