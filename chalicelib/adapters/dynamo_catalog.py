"""What is published: filename reservations, release files, commits, serials, the project list.

Items (PK / SK):
  FILENAME#<filename> / FILENAME    taken forever once published; held by a publish until then
  PROJECT#<project> / FILE#<file>   a file of a release, written before its release commits
  PROJECT#<project> / COMMIT#<tok>  a committed release: only files of committed sessions show
  PROJECT#<project> / PROJECT       state, last serial, PEP 792 status
  PROJECTS / <project>              the root index's list (one partition: consistent reads)
  INDEX / SERIAL                    the index-wide serial counter
Sparse GSI1 partition RENDER-DUE: projects committed past their rendered serial, by commit
time, so the sweeper can finish a render a crashed Lambda left undone.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError
from packaging.version import Version

from ..domain.clock import iso
from ..domain.errors import ConflictError, StateChangedError
from ..domain.index import FileEntry
from ..domain.sessions import SessionStatus, release_key
from .aws_errors import cancellation_reasons, condition_failed, error_code
from .dynamo import from_item, to_item
from .dynamo_sessions import (
    filename_key,
    project_key,
    release_lock_key,
    release_reservations,
    session_key,
)
from .table_schema import GSI1, GSI1_PK, GSI1_SK, PK, SK, TTL_ATTRIBUTE

MAX_TRANSACTION = 100
RENDER_DUE = "RENDER-DUE"


class DynamoCatalog:
    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self._table = table_name

    # --- publish: reserve, roll back -----------------------------------------------------

    def begin_publish(
        self,
        token: str,
        project: str,
        version: str,
        filenames: list[str],
        *,
        from_status: SessionStatus,
        revision: int,
        at: datetime,
    ) -> None:
        """Move the session to ``processing`` and reserve every filename, all or nothing.

        Releases can exceed one transaction, so later chunks are rolled back by hand if
        one fails. Raises ``ConflictError`` naming the filenames already taken, and
        ``StateChangedError`` if the session changed since it was read at ``revision``.
        """
        session_update = {
            "Update": {
                "TableName": self._table,
                "Key": to_item(session_key(token)),
                "UpdateExpression": "SET #status = :processing, publish_requested_at = :at",
                "ConditionExpression": "#status = :from AND revision = :rev",
                "ExpressionAttributeNames": {"#status": "status"},
                "ExpressionAttributeValues": to_item(
                    {
                        ":processing": str(SessionStatus.PROCESSING),
                        ":from": str(from_status),
                        ":rev": revision,
                        ":at": iso(at),
                    }
                ),
            }
        }
        puts = [
            {
                "Put": {
                    "TableName": self._table,
                    "Item": to_item(
                        {
                            **filename_key(name),
                            "session": token,
                            "project": project,
                            "version": version,
                            "reserved_at": iso(at),
                        }
                    ),
                    # A retried publish of the same session may find its own reservations.
                    "ConditionExpression": "attribute_not_exists(#pk) OR #session = :token",
                    "ExpressionAttributeNames": {"#pk": PK, "#session": "session"},
                    "ExpressionAttributeValues": to_item({":token": token}),
                }
            }
            for name in filenames
        ]
        chunks = [[session_update, *puts[: MAX_TRANSACTION - 1]]]
        rest = puts[MAX_TRANSACTION - 1 :]
        chunks += [rest[i : i + MAX_TRANSACTION] for i in range(0, len(rest), MAX_TRANSACTION)]
        done: list[str] = []
        for index, chunk in enumerate(chunks):
            try:
                self._client.transact_write_items(TransactItems=chunk)
            except Exception as error:
                if not (
                    isinstance(error, ClientError)
                    and error_code(error) == "TransactionCanceledException"
                ):
                    if index > 0:  # whatever broke, never leave half a reservation behind
                        self.release_filenames(token, done)
                        self._reopen(token, from_status)
                    raise
                reasons = cancellation_reasons(error)
                names = [
                    from_item(action["Put"]["Item"])[PK].removeprefix("FILENAME#")
                    for action, reason in zip(chunk, reasons, strict=False)
                    if "Put" in action and reason == "ConditionalCheckFailed"
                ]
                if index == 0 and reasons and reasons[0] == "ConditionalCheckFailed":
                    raise StateChangedError("The session changed; read it again.") from error
                if index > 0:
                    self.release_filenames(token, done)
                    self._reopen(token, from_status)
                raise ConflictError(
                    "These files already exist (published, or being published by another "
                    f"session): {', '.join(names) or 'unknown'}.",
                    errors=[{"source": n, "message": "filename already taken"} for n in names],
                ) from error
            done += [
                from_item(a["Put"]["Item"])[PK].removeprefix("FILENAME#")
                for a in chunk
                if "Put" in a
            ]

    def _reopen(self, token: str, status: SessionStatus) -> None:
        self._client.update_item(
            TableName=self._table,
            Key=to_item(session_key(token)),
            UpdateExpression="SET #status = :status",
            ConditionExpression="#status = :processing",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues=to_item(
                {":status": str(status), ":processing": str(SessionStatus.PROCESSING)}
            ),
        )

    def release_filenames(self, token: str, filenames: Iterable[str]) -> None:
        """Drop this session's reservations (never a published file's, never another's)."""
        release_reservations(self._client, self._table, token, filenames)

    def fail_publish(
        self, token: str, project: str, filenames: list[str], notices: list[str]
    ) -> bool:
        """A deferred publish failed: ``processing`` → ``error``, then release what it held.

        The status flips first, conditionally: a session that committed meanwhile is
        published and keeps everything. Returns whether the session was failed.
        """
        try:
            self._client.update_item(
                TableName=self._table,
                Key=to_item(session_key(token)),
                UpdateExpression="SET #status = :error, notices = list_append(notices, :n)",
                ConditionExpression="#status = :processing",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues=to_item(
                    {
                        ":error": str(SessionStatus.ERROR),
                        ":processing": str(SessionStatus.PROCESSING),
                        ":n": notices,
                    }
                ),
            )
        except ClientError as error:
            if condition_failed(error):
                return False
            raise
        self.release_filenames(token, filenames)
        for name in filenames:
            try:
                self._client.delete_item(
                    TableName=self._table,
                    Key=to_item({PK: f"PROJECT#{project}", SK: f"FILE#{name}"}),
                    ConditionExpression="#session = :token",
                    ExpressionAttributeNames={"#session": "session"},
                    ExpressionAttributeValues=to_item({":token": token}),
                )
            except ClientError as error:
                if not condition_failed(error):
                    raise
        return True

    # --- publish: record files, commit ------------------------------------------------------

    def put_release_files(self, project: str, token: str, entries: list[FileEntry]) -> None:
        """Write the release's files; idempotent for this session, invisible until commit."""
        actions = [
            {
                "Put": {
                    "TableName": self._table,
                    "Item": to_item(
                        {
                            PK: f"PROJECT#{project}",
                            SK: f"FILE#{entry.filename}",
                            "session": token,
                            "filename": entry.filename,
                            "version": entry.version,
                            "size": entry.size,
                            "sha256": entry.sha256,
                            "upload_time": entry.upload_time,
                            "requires_python": entry.requires_python,
                            "metadata_sha256": entry.metadata_sha256,
                        }
                    ),
                    "ConditionExpression": "attribute_not_exists(#pk) OR #session = :token",
                    "ExpressionAttributeNames": {"#pk": PK, "#session": "session"},
                    "ExpressionAttributeValues": to_item({":token": token}),
                }
            }
            for entry in entries
        ]
        for start in range(0, len(actions), MAX_TRANSACTION):
            self._client.transact_write_items(
                TransactItems=actions[start : start + MAX_TRANSACTION]
            )

    def next_serial(self) -> int:
        response = self._client.update_item(
            TableName=self._table,
            Key=to_item({PK: "INDEX", SK: "SERIAL"}),
            UpdateExpression="ADD serial :one",
            ExpressionAttributeValues=to_item({":one": 1}),
            ReturnValues="UPDATED_NEW",
        )
        return int(from_item(response["Attributes"])["serial"])

    def global_serial(self) -> int:
        item = self._client.get_item(
            TableName=self._table, Key=to_item({PK: "INDEX", SK: "SERIAL"}), ConsistentRead=True
        ).get("Item")
        return int(from_item(item)["serial"]) if item else 0

    def commit(
        self,
        token: str,
        project: str,
        version: str,
        serial: int,
        at: datetime,
        *,
        keep_until: datetime,
        has_files: bool,
        session: bool = True,
        list_project: bool = True,
    ) -> None:
        """Make the release visible in one transaction: session published, commit recorded,
        project serial raised (never lowered), project listed. ``StateChangedError`` if a
        newer serial won or the session is no longer processing."""
        actions: list[dict[str, Any]] = [
            {
                "Update": {
                    "TableName": self._table,
                    "Key": to_item(session_key(token)),
                    "UpdateExpression": (
                        "SET #status = :published, terminal_at = :at, #ttl = :ttl, "
                        "published_serial = :serial REMOVE GSI1PK, GSI1SK"
                    ),
                    "ConditionExpression": "#status = :processing",
                    "ExpressionAttributeNames": {"#status": "status", "#ttl": TTL_ATTRIBUTE},
                    "ExpressionAttributeValues": to_item(
                        {
                            ":published": str(SessionStatus.PUBLISHED),
                            ":processing": str(SessionStatus.PROCESSING),
                            ":at": iso(at),
                            ":ttl": int(keep_until.timestamp()),
                            ":serial": serial,
                        }
                    ),
                }
            },
            {
                "Delete": {
                    "TableName": self._table,
                    "Key": to_item(release_lock_key(project, release_key(Version(version)))),
                    "ConditionExpression": "attribute_not_exists(#pk) OR #token = :token",
                    "ExpressionAttributeNames": {"#pk": PK, "#token": "token"},
                    "ExpressionAttributeValues": to_item({":token": token}),
                }
            },
            {
                "Update": {
                    "TableName": self._table,
                    "Key": to_item(project_key(project)),
                    "UpdateExpression": (
                        "SET #state = :active, serial = :serial, "
                        "#pstatus = if_not_exists(#pstatus, :activestatus), "
                        "#gpk = :due, #gsk = :duesk"
                    ),
                    "ConditionExpression": "attribute_not_exists(serial) OR serial < :serial",
                    "ExpressionAttributeNames": {
                        "#state": "state",
                        "#pstatus": "project_status",
                        "#gpk": GSI1_PK,
                        "#gsk": GSI1_SK,
                    },
                    "ExpressionAttributeValues": to_item(
                        {
                            ":active": "active",
                            ":serial": serial,
                            ":activestatus": "active",
                            ":due": RENDER_DUE,
                            ":duesk": f"{iso(at)}#{project}",
                        }
                    ),
                }
            },
            {
                "Put": {
                    "TableName": self._table,
                    "Item": to_item({PK: "PROJECTS", SK: project, "listed_at": iso(at)}),
                }
            },
        ]
        if not list_project:
            # Only a new project joins the root's list; a quarantined one must stay off it.
            actions = actions[:-1]
        if not session:
            # A one-file legacy release has no session to finish nor release to unlock.
            actions = actions[2:]
        if has_files:
            actions.append(
                {
                    "Put": {
                        "TableName": self._table,
                        "Item": to_item(
                            {
                                PK: f"PROJECT#{project}",
                                SK: f"COMMIT#{token}",
                                "serial": serial,
                                "version": version,
                                "committed_at": iso(at),
                            }
                        ),
                    }
                }
            )
        try:
            self._client.transact_write_items(TransactItems=actions)
        except ClientError as error:
            if error_code(error) == "TransactionCanceledException":
                raise StateChangedError("A concurrent change won; retry.") from error
            raise

    def mark_published(self, holder: str, filenames: Iterable[str], at: datetime) -> None:
        """Record on each of ``holder``'s filenames that it is published: never released again."""
        for name in filenames:
            try:
                self._client.update_item(
                    TableName=self._table,
                    Key=to_item(filename_key(name)),
                    UpdateExpression="SET published_at = if_not_exists(published_at, :at)",
                    ConditionExpression="#session = :holder",
                    ExpressionAttributeNames={"#session": "session"},
                    ExpressionAttributeValues=to_item({":at": iso(at), ":holder": holder}),
                )
            except ClientError as error:
                if not condition_failed(error):
                    raise

    def mark_rendered(self, project: str, serial: int) -> None:
        """Record that the project's index pages show every commit up to ``serial``.

        Only ever raised, so a slow render finishing late cannot lower it; the project
        leaves the render-due partition once no commit is newer than ``serial``.
        """
        not_lower = "(attribute_not_exists(rendered_serial) OR rendered_serial <= :serial)"
        attempts = [
            (
                "SET rendered_serial = :serial REMOVE #gpk, #gsk",
                f"serial <= :serial AND {not_lower}",
            ),
            ("SET rendered_serial = :serial", not_lower),
        ]
        for update, condition in attempts:
            try:
                self._client.update_item(
                    TableName=self._table,
                    Key=to_item(project_key(project)),
                    UpdateExpression=update,
                    ConditionExpression=f"attribute_exists(#pk) AND {condition}",
                    ExpressionAttributeNames={
                        "#pk": PK,
                        **({"#gpk": GSI1_PK, "#gsk": GSI1_SK} if "#gpk" in update else {}),
                    },
                    ExpressionAttributeValues=to_item({":serial": serial}),
                )
                return
            except ClientError as error:
                if not condition_failed(error):
                    raise

    def render_due(self, before: datetime) -> list[str]:
        """Projects committed before ``before`` whose pages do not yet show that commit."""
        paginator = self._client.get_paginator("query")
        pages = paginator.paginate(
            TableName=self._table,
            IndexName=GSI1,
            KeyConditionExpression="#pk = :pk AND #sk < :before",
            ExpressionAttributeNames={"#pk": GSI1_PK, "#sk": GSI1_SK},
            ExpressionAttributeValues=to_item({":pk": RENDER_DUE, ":before": iso(before)}),
        )
        return [
            from_item(item)[PK].removeprefix("PROJECT#")
            for page in pages
            for item in page.get("Items", [])
        ]

    def holders(self, filenames: Iterable[str]) -> dict[str, str | None]:
        """Who holds each filename's reservation (consistent reads)."""
        out: dict[str, str | None] = {}
        for name in filenames:
            item = self._client.get_item(
                TableName=self._table, Key=to_item(filename_key(name)), ConsistentRead=True
            ).get("Item")
            out[name] = from_item(item).get("session") if item else None
        return out

    # --- reading for renders ---------------------------------------------------------------

    def project(self, project: str) -> dict[str, Any] | None:
        item = self._client.get_item(
            TableName=self._table, Key=to_item(project_key(project)), ConsistentRead=True
        ).get("Item")
        return from_item(item) if item else None

    def committed_files(self, project: str) -> list[FileEntry]:
        """Files of committed releases only. COMMIT# sorts before FILE#, so a paginated read
        sees every commit before any file: files of a release committing meanwhile stay out."""
        paginator = self._client.get_paginator("query")
        pages = paginator.paginate(
            TableName=self._table,
            ConsistentRead=True,
            KeyConditionExpression="#pk = :pk",
            ExpressionAttributeNames={"#pk": PK},
            ExpressionAttributeValues=to_item({":pk": f"PROJECT#{project}"}),
        )
        commits: set[str] = set()
        entries = []
        for page in pages:
            for raw in page.get("Items", []):
                item = from_item(raw)
                sort = item[SK]
                if sort.startswith("COMMIT#"):
                    commits.add(sort.removeprefix("COMMIT#"))
                elif sort.startswith("FILE#") and item["session"] in commits:
                    entries.append(
                        FileEntry(
                            filename=item["filename"],
                            version=item["version"],
                            size=int(item["size"]),
                            sha256=item["sha256"],
                            upload_time=item["upload_time"],
                            requires_python=item.get("requires_python"),
                            metadata_sha256=item.get("metadata_sha256"),
                            yanked=item.get("yanked"),
                        )
                    )
        return entries

    def listed_projects(self) -> list[str]:
        paginator = self._client.get_paginator("query")
        pages = paginator.paginate(
            TableName=self._table,
            ConsistentRead=True,
            KeyConditionExpression="#pk = :pk",
            ExpressionAttributeNames={"#pk": PK},
            ExpressionAttributeValues=to_item({":pk": "PROJECTS"}),
        )
        return [from_item(i)[SK] for page in pages for i in page.get("Items", [])]

    def published_file(self, project: str, filename: str) -> dict[str, Any] | None:
        """The file's record if its release has committed (two consistent reads), else None."""
        item = self._client.get_item(
            TableName=self._table,
            Key=to_item({PK: f"PROJECT#{project}", SK: f"FILE#{filename}"}),
            ConsistentRead=True,
        ).get("Item")
        if not item:
            return None
        record = from_item(item)
        commit = self._client.get_item(
            TableName=self._table,
            Key=to_item({PK: f"PROJECT#{project}", SK: f"COMMIT#{record['session']}"}),
            ConsistentRead=True,
        ).get("Item")
        return record if commit else None

    # --- moderation: yanks and project status ----------------------------------------------

    def set_yanked(self, project: str, filenames: Iterable[str], reason: str | None) -> None:
        """Yank (``reason`` may be "") or unyank (``None``) files of a project."""
        for name in filenames:
            key = to_item({PK: f"PROJECT#{project}", SK: f"FILE#{name}"})
            if reason is None:
                self._client.update_item(
                    TableName=self._table, Key=key, UpdateExpression="REMOVE yanked"
                )
            else:
                self._client.update_item(
                    TableName=self._table,
                    Key=key,
                    UpdateExpression="SET yanked = :reason",
                    ExpressionAttributeValues=to_item({":reason": reason}),
                )

    def raise_serial(self, project: str, **fields: object) -> int:
        """Give the project a new serial (and set ``fields``): a change its index must show."""
        for _ in range(10):
            serial = self.next_serial()
            names = {f"#f{i}": name for i, name in enumerate(fields)}
            values: dict[str, Any] = {":serial": serial, ":active": "active"}
            sets = ["serial = :serial"]
            removes = []
            for i, value in enumerate(fields.values()):
                if value is None:
                    removes.append(f"#f{i}")
                else:
                    sets.append(f"#f{i} = :f{i}")
                    values[f":f{i}"] = value
            expression = (
                "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
            )
            try:
                self._client.update_item(
                    TableName=self._table,
                    Key=to_item(project_key(project)),
                    UpdateExpression=expression,
                    ConditionExpression="#state = :active AND serial < :serial",
                    ExpressionAttributeNames={"#state": "state", **names},
                    ExpressionAttributeValues=to_item(values),
                )
                return serial
            except ClientError as error:
                if not condition_failed(error):
                    raise
                if (self.project(project) or {}).get("state") != "active":
                    raise ConflictError(f"{project!r} is not a published project.") from error
        raise StateChangedError("the project's serial kept moving")

    def set_listed(self, project: str, listed: bool) -> None:
        """Whether the root index lists the project (quarantined ones are dropped)."""
        key = to_item({PK: "PROJECTS", SK: project})
        if listed:
            self._client.put_item(TableName=self._table, Item=key)
        else:
            self._client.delete_item(TableName=self._table, Key=key)

    def reserve_one(
        self, filename: str, holder: str, project: str, version: str, sha256: str, at: datetime
    ) -> dict[str, Any] | None:
        """Reserve one filename for ``holder``; ``None`` on success, else the existing record."""
        try:
            self._client.put_item(
                TableName=self._table,
                Item=to_item(
                    {
                        **filename_key(filename),
                        "session": holder,
                        "project": project,
                        "version": version,
                        "sha256": sha256,
                        "reserved_at": iso(at),
                    }
                ),
                ConditionExpression="attribute_not_exists(#pk)",
                ExpressionAttributeNames={"#pk": PK},
            )
            return None
        except ClientError as error:
            if not condition_failed(error):
                raise
        item = self._client.get_item(
            TableName=self._table, Key=to_item(filename_key(filename)), ConsistentRead=True
        ).get("Item")
        return from_item(item) if item else {}
