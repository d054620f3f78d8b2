"""Publishing sessions, file upload sessions and their locks in the single table.

Items (PK / SK):
  SESSION#<token> / SESSION          the publishing session
  SESSION#<token> / FILE#<file id>   one file upload session
  SESSION#<token> / NAME#<filename>  the session's claim on a filename (while not canceled)
  RELEASE#<project>#<release> / OPEN the one non-terminal session of a release
  PROJECT#<project> / PROJECT        a published or reserved project name
  FILENAME#<filename> / FILENAME     a filename ever published, or reserved by a publish
  (both keyed by domain.filenames.reservation_name: foo-1.0.0-py3-none-any.whl and
  foo-1.0-py3-none-any.whl are one file to an installer, so they share one item)
Sparse GSI1 partitions: SESSIONS-EXPIRING (by expiry) for the sweeper and the session list;
SESSIONS-PURGE (canceled sessions whose bytes are not yet all deleted), FILES-PROCESSING.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError
from packaging.version import Version

from ..domain.clock import iso
from ..domain.errors import ConflictError, SessionExistsError, StateChangedError
from ..domain.filenames import reservation_name
from ..domain.session_ports import ProjectState
from ..domain.sessions import FileRecord, FileStatus, SessionRecord, SessionStatus, release_key
from .aws_errors import cancellation_reasons, condition_failed, error_code
from .dynamo import from_item, to_item
from .table_schema import GSI1, GSI1_PK, GSI1_SK, PK, SK, TTL_ATTRIBUTE

EXPIRING = "SESSIONS-EXPIRING"
PURGE_DUE = "SESSIONS-PURGE"
PROCESSING = "FILES-PROCESSING"


def session_key(token: str) -> dict[str, Any]:
    return {PK: f"SESSION#{token}", SK: "SESSION"}


def file_key(token: str, file_id: str) -> dict[str, Any]:
    return {PK: f"SESSION#{token}", SK: f"FILE#{file_id}"}


def name_key(token: str, filename: str) -> dict[str, Any]:
    return {PK: f"SESSION#{token}", SK: f"NAME#{reservation_name(filename)}"}


def release_lock_key(project: str, release: str) -> dict[str, Any]:
    return {PK: f"RELEASE#{project}#{release}", SK: "OPEN"}


def project_key(project: str) -> dict[str, Any]:
    return {PK: f"PROJECT#{project}", SK: "PROJECT"}


def filename_key(filename: str) -> dict[str, Any]:
    """Keyed by the reservation name, so equivalent spellings of one file share one item."""
    return {PK: f"FILENAME#{reservation_name(filename)}", SK: "FILENAME"}


def _session_item(record: SessionRecord) -> dict[str, Any]:
    values: dict[str, Any] = {
        **session_key(record.token),
        "token": record.token,
        "project": record.project,
        "version": record.version,
        "status": str(record.status),
        "created_via": str(record.created_via),
        "created_at": iso(record.created_at),
        "expires_at": iso(record.expires_at),
        "max_expires_at": iso(record.max_expires_at),
        "created_by": record.created_by,
        "notices": list(record.notices),
        "reserves_project": record.reserves_project,
        "revision": record.revision,
    }
    if not record.status.terminal:
        values[GSI1_PK] = EXPIRING
        values[GSI1_SK] = f"{iso(record.expires_at)}#{record.token}"
    return values


def _session(item: dict[str, Any]) -> SessionRecord:
    data = from_item(item)
    return SessionRecord(
        token=data["token"],
        project=data["project"],
        version=data["version"],
        status=data["status"],
        created_via=data.get("created_via", "upload-2.0"),
        created_at=data["created_at"],
        expires_at=data["expires_at"],
        max_expires_at=data["max_expires_at"],
        created_by=data["created_by"],
        notices=tuple(data.get("notices", [])),
        reserves_project=bool(data.get("reserves_project", False)),
        terminal_at=data.get("terminal_at"),
        revision=int(data.get("revision", 0)),
        publish_requested_at=data.get("publish_requested_at"),
        published_serial=data.get("published_serial"),
    )


_FILE_FIELDS = (
    "upload_id",
    "metadata_key",
    "metadata_sha256",
    "requires_python",
    "part_size",
)


def _file_item(record: FileRecord) -> dict[str, Any]:
    values: dict[str, Any] = {
        **file_key(record.session_token, record.file_id),
        "session_token": record.session_token,
        "file_id": record.file_id,
        "filename": record.filename,
        "size": record.size,
        "hashes": dict(record.hashes),
        "mechanism": record.mechanism,
        "status": str(record.status),
        "created_at": iso(record.created_at),
        "staged_key": record.staged_key,
        "notices": list(record.notices),
        "digests": dict(record.digests),
    }
    for name in _FILE_FIELDS:
        values[name] = getattr(record, name)
    return values


def _file(item: dict[str, Any]) -> FileRecord:
    data = from_item(item)
    return FileRecord(
        session_token=data["session_token"],
        file_id=data["file_id"],
        filename=data["filename"],
        size=int(data["size"]),
        hashes=dict(data["hashes"]),
        mechanism=data["mechanism"],
        status=data["status"],
        created_at=data["created_at"],
        staged_key=data["staged_key"],
        notices=tuple(data.get("notices", [])),
        digests=dict(data.get("digests", {})),
        processing_since=data.get("processing_since"),
        completed_at=data.get("completed_at"),
        received_parts=int(data.get("received_parts", 0)),
        received_bytes=int(data.get("received_bytes", 0)),
        **{name: _plain(data.get(name)) for name in _FILE_FIELDS},
    )


def _plain(value: object) -> object:
    """DynamoDB numbers come back as Decimal."""
    return int(value) if isinstance(value, Decimal) else value


class DynamoSessionStore:
    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self._table = table_name

    # --- projects and releases -----------------------------------------------------

    def project_state(self, project: str) -> ProjectState:
        item = self._get(project_key(project))
        if item is None:
            return ProjectState.NEW
        return ProjectState(from_item(item)["state"])

    def rendered_serial(self, project: str) -> int:
        item = self._get(project_key(project))
        return int(from_item(item).get("rendered_serial", 0)) if item else 0

    def project_status(self, project: str) -> str:
        item = self._get(project_key(project))
        return str(from_item(item).get("project_status") or "active") if item else "active"

    def open_session_for(self, project: str, release: str) -> str | None:
        item = self._get(release_lock_key(project, release))
        return from_item(item)["token"] if item else None

    def filename_taken(self, filename: str) -> bool:
        return self._get(filename_key(filename)) is not None

    # --- publishing sessions -----------------------------------------------------------

    def create_session(self, record: SessionRecord, *, release: str, project: ProjectState) -> None:
        actions: list[dict[str, Any]] = [
            self._put(_session_item(record), "attribute_not_exists(#pk)"),
            self._put(
                {**release_lock_key(record.project, release), "token": record.token},
                "attribute_not_exists(#pk)",
            ),
        ]
        if project is ProjectState.NEW:
            actions.append(
                self._put(
                    {
                        **project_key(record.project),
                        "state": str(ProjectState.RESERVED),
                        "reservations": {record.token},
                    },
                    "attribute_not_exists(#pk)",
                )
            )
        elif project is ProjectState.RESERVED:
            actions.append(
                {
                    "Update": {
                        "TableName": self._table,
                        "Key": to_item(project_key(record.project)),
                        "UpdateExpression": "ADD reservations :t",
                        "ConditionExpression": "#state = :reserved",
                        "ExpressionAttributeNames": {"#state": "state"},
                        "ExpressionAttributeValues": to_item(
                            {":t": {record.token}, ":reserved": str(ProjectState.RESERVED)}
                        ),
                    }
                }
            )
        else:
            actions.append(
                {
                    "ConditionCheck": {
                        "TableName": self._table,
                        "Key": to_item(project_key(record.project)),
                        # Archiving or quarantining races no session into existence.
                        "ConditionExpression": "#state = :active AND NOT (#ps IN (:a, :q))",
                        "ExpressionAttributeNames": {"#state": "state", "#ps": "project_status"},
                        "ExpressionAttributeValues": to_item(
                            {
                                ":active": str(ProjectState.ACTIVE),
                                ":a": "archived",
                                ":q": "quarantined",
                            }
                        ),
                    }
                }
            )
        try:
            self._client.transact_write_items(TransactItems=actions)
        except ClientError as error:
            reasons = cancellation_reasons(error)
            if len(reasons) > 1 and reasons[1] == "ConditionalCheckFailed":
                token = self.open_session_for(record.project, release)
                raise SessionExistsError(
                    "A publishing session for this release is already in progress.",
                    token=token or "",
                ) from error
            if len(reasons) > 2 and reasons[2] == "ConditionalCheckFailed":
                raise StateChangedError("The project changed; try again.") from error
            raise

    def get_session(self, token: str) -> SessionRecord | None:
        item = self._get(session_key(token))
        return _session(item) if item else None

    def finish_session(
        self,
        session: SessionRecord,
        status: SessionStatus,
        *,
        allowed_from: Iterable[SessionStatus],
        at: datetime,
        keep_until: datetime,
        notices: Iterable[str] = (),
    ) -> SessionRecord:
        allowed = sorted(str(s) for s in allowed_from)
        placeholders = {f":from{i}": value for i, value in enumerate(allowed)}
        # A canceled session stays findable until its bytes are gone (mark_purged).
        index = "#gpk = :purge, #gsk = :purgesk" if status is SessionStatus.CANCELED else None
        actions: list[dict[str, Any]] = [
            {
                "Update": {
                    "TableName": self._table,
                    "Key": to_item(session_key(session.token)),
                    "UpdateExpression": (
                        "SET #status = :status, terminal_at = :at, #ttl = :ttl, "
                        "notices = list_append(notices, :notices)"
                        + (f", {index}" if index else " REMOVE #gpk, #gsk")
                    ),
                    "ConditionExpression": f"#status IN ({', '.join(placeholders)})",
                    "ExpressionAttributeNames": {
                        "#status": "status",
                        "#ttl": TTL_ATTRIBUTE,
                        "#gpk": GSI1_PK,
                        "#gsk": GSI1_SK,
                    },
                    "ExpressionAttributeValues": to_item(
                        {
                            ":status": str(status),
                            ":at": iso(at),
                            ":ttl": int(keep_until.timestamp()),
                            ":notices": list(notices),
                            **placeholders,
                            **(
                                {":purge": PURGE_DUE, ":purgesk": f"{iso(at)}#{session.token}"}
                                if index
                                else {}
                            ),
                        }
                    ),
                }
            },
            {
                "Delete": {
                    "TableName": self._table,
                    "Key": to_item(release_lock_key(session.project, _release_of(session))),
                    "ConditionExpression": "attribute_not_exists(#pk) OR #token = :token",
                    "ExpressionAttributeNames": {"#pk": PK, "#token": "token"},
                    "ExpressionAttributeValues": to_item({":token": session.token}),
                }
            },
        ]
        if session.reserves_project:
            actions.append(
                {
                    "Update": {
                        "TableName": self._table,
                        "Key": to_item(project_key(session.project)),
                        "UpdateExpression": "DELETE reservations :t",
                        "ConditionExpression": "attribute_exists(#pk)",
                        "ExpressionAttributeNames": {"#pk": PK},
                        "ExpressionAttributeValues": to_item({":t": {session.token}}),
                    }
                }
            )
        try:
            self._client.transact_write_items(TransactItems=actions)
        except ClientError as error:
            if error_code(error) == "TransactionCanceledException":
                raise StateChangedError(
                    "The publishing session changed while this request ran."
                ) from error
            raise
        if session.reserves_project and status is SessionStatus.CANCELED:
            self._drop_unused_reservation(session.project)
        finished = self.get_session(session.token)
        assert finished is not None
        return finished

    def _drop_unused_reservation(self, project: str) -> None:
        """Forget a reserved name once no session holds it (its first release never came)."""
        try:
            self._client.delete_item(
                TableName=self._table,
                Key=to_item(project_key(project)),
                ConditionExpression="#state = :reserved AND attribute_not_exists(reservations)",
                ExpressionAttributeNames={"#state": "state"},
                ExpressionAttributeValues=to_item({":reserved": str(ProjectState.RESERVED)}),
            )
        except ClientError as error:
            if not condition_failed(error):
                raise

    def extend_session(self, session: SessionRecord, expires_at: datetime) -> SessionRecord:
        try:
            response = self._client.update_item(
                TableName=self._table,
                Key=to_item(session_key(session.token)),
                UpdateExpression="SET expires_at = :new, #gsk = :gsk",
                ConditionExpression=(
                    "attribute_exists(#gpk) AND expires_at < :new AND #status IN (:o, :p, :e)"
                ),
                ExpressionAttributeNames={"#gpk": GSI1_PK, "#gsk": GSI1_SK, "#status": "status"},
                ExpressionAttributeValues=to_item(
                    {
                        ":new": iso(expires_at),
                        ":gsk": f"{iso(expires_at)}#{session.token}",
                        ":o": "open",
                        ":p": "processing",
                        ":e": "error",
                    }
                ),
                ReturnValues="ALL_NEW",
            )
        except ClientError as error:
            if condition_failed(error):
                current = self.get_session(session.token)
                assert current is not None
                return current
            raise
        return _session(response["Attributes"])

    def due_sessions(self, now: datetime) -> list[str]:
        paginator = self._client.get_paginator("query")
        pages = paginator.paginate(
            TableName=self._table,
            IndexName=GSI1,
            KeyConditionExpression="#pk = :pk AND #sk < :now",
            ExpressionAttributeNames={"#pk": GSI1_PK, "#sk": GSI1_SK},
            ExpressionAttributeValues=to_item({":pk": EXPIRING, ":now": iso(now)}),
        )
        return [from_item(i)["token"] for page in pages for i in page.get("Items", [])]

    def purge_due(self) -> list[str]:
        paginator = self._client.get_paginator("query")
        pages = paginator.paginate(
            TableName=self._table,
            IndexName=GSI1,
            KeyConditionExpression="#pk = :pk",
            ExpressionAttributeNames={"#pk": GSI1_PK},
            ExpressionAttributeValues=to_item({":pk": PURGE_DUE}),
        )
        return [from_item(i)["token"] for page in pages for i in page.get("Items", [])]

    def mark_purged(self, token: str) -> None:
        try:
            self._client.update_item(
                TableName=self._table,
                Key=to_item(session_key(token)),
                UpdateExpression="REMOVE #gpk, #gsk",
                ConditionExpression="#gpk = :purge",
                ExpressionAttributeNames={"#gpk": GSI1_PK, "#gsk": GSI1_SK},
                ExpressionAttributeValues=to_item({":purge": PURGE_DUE}),
            )
        except ClientError as error:
            if not condition_failed(error):
                raise

    def open_sessions(self) -> list[SessionRecord]:
        """Every non-terminal session (the sweeper's view; few at any time)."""
        paginator = self._client.get_paginator("query")
        pages = paginator.paginate(
            TableName=self._table,
            IndexName=GSI1,
            KeyConditionExpression="#pk = :pk",
            ExpressionAttributeNames={"#pk": GSI1_PK},
            ExpressionAttributeValues=to_item({":pk": EXPIRING}),
        )
        tokens = [from_item(i)["token"] for page in pages for i in page.get("Items", [])]
        sessions = [self.get_session(token) for token in tokens]
        return [s for s in sessions if s is not None]

    def live_sessions(self, now: datetime) -> Iterator[SessionRecord]:
        """Non-terminal sessions that expire after ``now``, soonest expiry first, read lazily
        page by page so a caller can stop early. The index is eventually consistent: a
        session that changed a moment ago may show its previous state."""
        paginator = self._client.get_paginator("query")
        pages = paginator.paginate(
            TableName=self._table,
            IndexName=GSI1,
            KeyConditionExpression="#pk = :pk AND #sk > :now",
            ExpressionAttributeNames={"#pk": GSI1_PK, "#sk": GSI1_SK},
            ExpressionAttributeValues=to_item({":pk": EXPIRING, ":now": iso(now)}),
        )
        for page in pages:
            for item in page.get("Items", []):
                yield _session(item)

    def stuck_files(self, before: datetime) -> list[FileRecord]:
        """Files in ``processing`` since before ``before``."""
        paginator = self._client.get_paginator("query")
        pages = paginator.paginate(
            TableName=self._table,
            IndexName=GSI1,
            KeyConditionExpression="#pk = :pk AND #sk < :before",
            ExpressionAttributeNames={"#pk": GSI1_PK, "#sk": GSI1_SK},
            ExpressionAttributeValues=to_item({":pk": PROCESSING, ":before": iso(before)}),
        )
        found = []
        for page in pages:
            for item in page.get("Items", []):
                data = from_item(item)
                record = self.get_file(data["session_token"], data["file_id"])
                if record is not None and record.status is FileStatus.PROCESSING:
                    found.append(record)
        return found

    # --- file upload sessions ------------------------------------------------------------

    def add_file(self, session: SessionRecord, record: FileRecord) -> None:
        actions = [
            self._editable_session_bump(session.token),
            self._put(_file_item(record), "attribute_not_exists(#pk)"),
            self._put(
                {**name_key(session.token, record.filename), "file_id": record.file_id},
                "attribute_not_exists(#pk)",
            ),
        ]
        try:
            self._client.transact_write_items(TransactItems=actions)
        except ClientError as error:
            reasons = cancellation_reasons(error)
            if len(reasons) > 2 and reasons[2] == "ConditionalCheckFailed":
                raise ConflictError(
                    f"{record.filename!r} (or an equivalent spelling of it) is already in this "
                    "session; delete that file upload "
                    "session before uploading the file again."
                ) from error
            if reasons and reasons[0] == "ConditionalCheckFailed":
                raise ConflictError("The publishing session no longer accepts changes.") from error
            raise

    def get_file(self, token: str, file_id: str) -> FileRecord | None:
        item = self._get(file_key(token, file_id))
        return _file(item) if item else None

    def list_files(self, token: str) -> list[FileRecord]:
        paginator = self._client.get_paginator("query")
        pages = paginator.paginate(
            TableName=self._table,
            ConsistentRead=True,
            KeyConditionExpression="#pk = :pk AND begins_with(#sk, :file)",
            ExpressionAttributeNames={"#pk": PK, "#sk": SK},
            ExpressionAttributeValues=to_item({":pk": f"SESSION#{token}", ":file": "FILE#"}),
        )
        files = [_file(item) for page in pages for item in page.get("Items", [])]
        return sorted(files, key=lambda f: (f.created_at, f.file_id))

    def set_file_status(
        self,
        record: FileRecord,
        status: FileStatus,
        *,
        expected: Iterable[FileStatus],
        at: datetime,
        **changes: object,
    ) -> FileRecord:
        allowed = sorted(str(s) for s in expected)
        placeholders = {f":from{i}": value for i, value in enumerate(allowed)}
        values: dict[str, Any] = {":status": str(status), **placeholders}
        names = {"#status": "status"}
        sets = ["#status = :status"]
        removes: list[str] = []
        if status is FileStatus.PROCESSING:
            # Listed in the sparse index while processing, so a sweeper can find files whose
            # completion was interrupted.
            sets += ["processing_since = :at", "#gpk = :processing", "#gsk = :since"]
            values[":at"] = iso(at)
            values[":processing"] = PROCESSING
            values[":since"] = f"{iso(at)}#{record.session_token}#{record.file_id}"
            names["#gpk"], names["#gsk"] = GSI1_PK, GSI1_SK
        else:
            removes += ["#gpk", "#gsk"]
            names["#gpk"], names["#gsk"] = GSI1_PK, GSI1_SK
        if status is FileStatus.COMPLETED:
            sets.append("completed_at = :at")
            values[":at"] = iso(at)
        for index, (name, value) in enumerate(changes.items()):
            if value is None:
                removes.append(f"#c{index}")
            else:
                sets.append(f"#c{index} = :c{index}")
                values[f":c{index}"] = list(value) if isinstance(value, tuple) else value
            names[f"#c{index}"] = name
        expression = "SET " + ", ".join(sets)
        if removes:
            expression += " REMOVE " + ", ".join(removes)
        try:
            response = self._client.update_item(
                TableName=self._table,
                Key=to_item(file_key(record.session_token, record.file_id)),
                UpdateExpression=expression,
                ConditionExpression=f"#status IN ({', '.join(placeholders)})",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=to_item(values),
                ReturnValues="ALL_NEW",
            )
        except ClientError as error:
            if condition_failed(error):
                raise StateChangedError(
                    f"The file upload session is no longer {' or '.join(allowed)}."
                ) from error
            raise
        return _file(response["Attributes"])

    def release_reservations(self, token: str, filenames: Iterable[str]) -> None:
        """Drop filename reservations this session holds and never published."""
        release_reservations(self._client, self._table, token, filenames)

    def record_progress(self, record: FileRecord, parts: int, size: int) -> None:
        record_progress(self._client, self._table, record, parts, size)

    def cancel_file(self, session: SessionRecord, record: FileRecord, *, at: datetime) -> None:
        actions = [
            self._editable_session_bump(session.token),
            {
                "Update": {
                    "TableName": self._table,
                    "Key": to_item(file_key(record.session_token, record.file_id)),
                    "UpdateExpression": "SET #status = :canceled, canceled_at = :at",
                    "ConditionExpression": "#status IN (:pending, :completed, :error)",
                    "ExpressionAttributeNames": {"#status": "status"},
                    "ExpressionAttributeValues": to_item(
                        {
                            ":canceled": "canceled",
                            ":at": iso(at),
                            ":pending": "pending",
                            ":completed": "completed",
                            ":error": "error",
                        }
                    ),
                }
            },
            {
                "Delete": {
                    "TableName": self._table,
                    "Key": to_item(name_key(record.session_token, record.filename)),
                    "ConditionExpression": "attribute_not_exists(#pk) OR file_id = :fid",
                    "ExpressionAttributeNames": {"#pk": PK},
                    "ExpressionAttributeValues": to_item({":fid": record.file_id}),
                }
            },
        ]
        try:
            self._client.transact_write_items(TransactItems=actions)
        except ClientError as error:
            if error_code(error) == "TransactionCanceledException":
                raise StateChangedError(
                    "The file upload session or its publishing session changed."
                ) from error
            raise

    # --- helpers -------------------------------------------------------------------------

    def _get(self, key: dict[str, Any]) -> dict[str, Any] | None:
        response = self._client.get_item(
            TableName=self._table, Key=to_item(key), ConsistentRead=True
        )
        return response.get("Item")

    def _put(self, values: dict[str, Any], condition: str) -> dict[str, Any]:
        return {
            "Put": {
                "TableName": self._table,
                "Item": to_item(values),
                "ConditionExpression": condition,
                "ExpressionAttributeNames": {"#pk": PK},
            }
        }

    def _editable_session_bump(self, token: str) -> dict[str, Any]:
        """Every change to a session's files bumps its revision, so a publish that read an
        older set of files fails its condition instead of publishing a stale view."""
        return {
            "Update": {
                "TableName": self._table,
                "Key": to_item(session_key(token)),
                "UpdateExpression": "SET revision = revision + :one",
                "ConditionExpression": "#status IN (:open, :error)",
                "ExpressionAttributeNames": {"#status": "status"},
                "ExpressionAttributeValues": to_item(
                    {":one": 1, ":open": "open", ":error": "error"}
                ),
            }
        }


def _release_of(session: SessionRecord) -> str:
    return release_key(Version(session.version))


def record_progress(client: Any, table: str, record: FileRecord, parts: int, size: int) -> None:
    """Note the parts S3 holds on a pending file, so its status shows upload progress."""
    try:
        client.update_item(
            TableName=table,
            Key=to_item(file_key(record.session_token, record.file_id)),
            UpdateExpression="SET received_parts = :p, received_bytes = :b",
            ConditionExpression="#status = :pending",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues=to_item({":p": parts, ":b": size, ":pending": "pending"}),
        )
    except ClientError as error:
        if not condition_failed(error):
            raise


def release_reservations(client: Any, table: str, holder: str, filenames: Iterable[str]) -> None:
    """Delete ``holder``'s unpublished filename reservations; never a published name's,
    never another holder's (the condition says so)."""
    for name in filenames:
        try:
            client.delete_item(
                TableName=table,
                Key=to_item(filename_key(name)),
                ConditionExpression="#session = :token AND attribute_not_exists(published_at)",
                ExpressionAttributeNames={"#session": "session"},
                ExpressionAttributeValues=to_item({":token": holder}),
            )
        except ClientError as error:
            if not condition_failed(error):
                raise
