"""The single table: its key schema, every kind of item in it, and how wharf talks to it.

Items (PK / SK), by aggregate; infra/template.yaml declares the key attributes.

  sessions (dynamo_sessions.py)
    SESSION#<token> / SESSION            a publishing session
    SESSION#<token> / FILE#<file id>     one of its file upload sessions
    SESSION#<token> / NAME#<filename>    its claim on a filename within the session
    RELEASE#<project>#<release> / OPEN   the one non-terminal session of a release
  filename registry (dynamo_filenames.py)
    FILENAME#<filename> / FILENAME       a filename ever published, or held by a publish
  catalog (dynamo_catalog.py)
    PROJECT#<project> / PROJECT          state (reserved, active), serials, PEP 792 status
    PROJECT#<project> / FILE#<filename>  a release file, written before its release commits
    PROJECT#<project> / COMMIT#<holder>  a committed release: only its files are shown
    PROJECTS / <project>                 the root index's list (one partition)
    INDEX / SERIAL                       the index-wide serial counter
  tokens (dynamo_tokens.py)
    TOKEN#<secret hash> / TOKEN          an API token
  audit trail (dynamo_audit.py)
    AUDIT#<yyyy-mm> / <at>#<digest>      one event (GSI1 AUDIT-PROJECT#<project> / <at>#<digest>)
    AUDIT-EVENT#<digest> / AUDIT-EVENT   the marker that makes an event id's write happen once
  trusted publishing (dynamo_publishers.py)
    PUBLISHERS / <publisher id>          a trusted publisher (one partition: consistent reads)
    JTI#<issuer>#<jti> / JTI             an OIDC token already exchanged (TTL)
  reviews (dynamo_reviews.py)
    REVIEW#<review id> / REVIEW          one file's review (docs/review.md)
    REVIEW-POLICY#<project> / POLICY     a project's review timeout policy
  pages (dynamo_pages.py)
    PAGES#<project> / RELEASE#<version>  a release's page facts (summary, deps, publisher)
    PAGES / <project>                    the project's latest summary (the list's filter)
    DOWNLOADS#<project> / <day>#<version> a day's download counter (TTL-expired)
    BROWSER#<session id hash> / BROWSER  a signed-in browser (TTL-expired)

Filenames in keys are reservation names (domain.filenames.reservation_name):
foo-1.0.0-py3-none-any.whl and foo-1.0-py3-none-any.whl are one file to an
installer, so they share one item.

Sparse GSI1 partitions (GSI1PK / GSI1SK), each listing what a sweeper or a list needs:
  SESSIONS-EXPIRING  <expires-at>#<token>       non-terminal sessions, soonest expiry first
  SESSIONS-PURGE     <canceled-at>#<token>      canceled sessions whose bytes are not all gone
  FILES-PROCESSING   <since>#<token>#<file id>  files waiting for the validator
  RENDER-DUE         <committed-at>#<project>   projects committed past their rendered serial
  TOKENS             <token id>                 every token, by id
  AUDIT-PROJECT#<p>  <at>#<digest>              a project's audit events, in time order
  REVIEWS-OPEN       <deadline>#<review id>     open reviews, for the sweeper's timeout
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, suppress
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any

from botocore.exceptions import ClientError

from ..domain.clock import iso
from ..domain.errors import StateChangedError
from ..domain.filenames import reservation_name
from .aws_errors import condition_failed, error_code
from .dynamo_values import from_attribute, to_attribute

PK = "PK"
SK = "SK"
GSI1 = "GSI1"
GSI1_PK = "GSI1PK"
GSI1_SK = "GSI1SK"
# DynamoDB deletes an item some time after this epoch-seconds attribute passes.
TTL_ATTRIBUTE = "expires"

EXPIRING = "SESSIONS-EXPIRING"
PURGE_DUE = "SESSIONS-PURGE"
PROCESSING = "FILES-PROCESSING"
RENDER_DUE = "RENDER-DUE"
TOKENS = "TOKENS"
# DynamoDB's limit of actions in one TransactWriteItems.
MAX_TRANSACTION = 100

Key = dict[str, str]


# --- keys ------------------------------------------------------------------------------------


def session_key(token: str) -> Key:
    return {PK: f"SESSION#{token}", SK: "SESSION"}


def file_key(token: str, file_id: str) -> Key:
    return {PK: f"SESSION#{token}", SK: f"FILE#{file_id}"}


def name_key(token: str, filename: str) -> Key:
    return {PK: f"SESSION#{token}", SK: f"NAME#{reservation_name(filename)}"}


def release_lock_key(project: str, release: str) -> Key:
    return {PK: f"RELEASE#{project}#{release}", SK: "OPEN"}


def filename_key(filename: str) -> Key:
    return {PK: f"FILENAME#{reservation_name(filename)}", SK: "FILENAME"}


def project_key(project: str) -> Key:
    return {PK: f"PROJECT#{project}", SK: "PROJECT"}


def release_file_key(project: str, filename: str) -> Key:
    return {PK: f"PROJECT#{project}", SK: f"FILE#{filename}"}


def commit_key(project: str, holder: str) -> Key:
    return {PK: f"PROJECT#{project}", SK: f"COMMIT#{holder}"}


def listing_key(project: str) -> Key:
    return {PK: "PROJECTS", SK: project}


SERIAL_KEY: Key = {PK: "INDEX", SK: "SERIAL"}


def token_key(secret_hash: str) -> Key:
    return {PK: f"TOKEN#{secret_hash}", SK: "TOKEN"}


# --- (de)serialisation -------------------------------------------------------------------------


def to_item(values: Mapping[str, Any]) -> dict[str, Any]:
    """A plain mapping as a DynamoDB item; ``None`` values are left out."""
    return {k: to_attribute(v) for k, v in values.items() if v is not None}


def from_item(item: Mapping[str, Any]) -> dict[str, Any]:
    """An item as plain values; numbers become ``int`` (wharf stores no fractions)."""
    return {k: from_attribute(v) for k, v in item.items()}


def storable(value: Any) -> Any:
    """A model's value as the table stores it: fixed-width UTC text for times (they are
    compared as strings), plain strings for enums, lists for tuples."""
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, tuple | list):
        return [storable(v) for v in value]
    if isinstance(value, dict):
        return {k: storable(v) for k, v in value.items()}
    return value


# --- expressions -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Expr:
    """A condition or update fragment with its own placeholders; ``&`` joins conditions."""

    text: str
    names: Mapping[str, str] = field(default_factory=dict)
    values: Mapping[str, Any] = field(default_factory=dict)

    def __and__(self, other: Expr) -> Expr:
        return Expr(f"({self.text}) AND ({other.text})", *_merged(self, other))

    def __or__(self, other: Expr) -> Expr:
        return Expr(f"({self.text}) OR ({other.text})", *_merged(self, other))


def _merged(a: Expr, b: Expr) -> tuple[dict[str, str], dict[str, Any]]:
    for mine, theirs in ((a.names, b.names), (a.values, b.values)):
        clash = [k for k in mine.keys() & theirs.keys() if mine[k] != theirs[k]]
        assert not clash, f"placeholders used twice with different meanings: {clash}"
    return {**a.names, **b.names}, {**a.values, **b.values}


def attribute_is(name: str, value: Any) -> Expr:
    return Expr(
        f"#{_slug(name)} = :{_slug(name)}", {f"#{_slug(name)}": name}, {f":{_slug(name)}": value}
    )


def attribute_in(name: str, values: Any, *, label: str | None = None) -> Expr:
    """``name IN (values)``; sorted, so the same set always builds the same expression."""
    tag = label or _slug(name)
    placeholders = {f":{tag}{i}": str(v) for i, v in enumerate(sorted(str(v) for v in values))}
    assert placeholders, "an IN condition needs at least one value"
    return Expr(f"#{tag} IN ({', '.join(placeholders)})", {f"#{tag}": name}, placeholders)


def exists(name: str = PK) -> Expr:
    return Expr(f"attribute_exists(#{_slug(name)})", {f"#{_slug(name)}": name})


def absent(name: str = PK) -> Expr:
    return Expr(f"attribute_not_exists(#{_slug(name)})", {f"#{_slug(name)}": name})


def _slug(name: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in name)


@dataclass
class Update:
    """An update expression built clause by clause (``SET``, ``REMOVE``, ``ADD``, ``DELETE``)."""

    sets: dict[str, Any] = field(default_factory=dict)
    removes: list[str] = field(default_factory=list)
    raw_sets: list[Expr] = field(default_factory=list)
    adds: dict[str, Any] = field(default_factory=dict)
    deletes: dict[str, Any] = field(default_factory=dict)

    def set(self, name: str, value: Any) -> Update:
        """Set ``name``; a ``None`` value removes the attribute instead."""
        if value is None:
            self.removes.append(name)
        else:
            self.sets[name] = list(value) if isinstance(value, tuple) else value
        return self

    def expr(self) -> Expr:
        names: dict[str, str] = {}
        values: dict[str, Any] = {}
        clauses = []

        def placeholder(name: str, prefix: str) -> str:
            slug = f"{prefix}{_slug(name)}"
            names[f"#{slug}"] = name
            return slug

        sets = []
        for name, value in self.sets.items():
            slug = placeholder(name, "u_")
            sets.append(f"#{slug} = :{slug}")
            values[f":{slug}"] = value
        for raw in self.raw_sets:
            sets.append(raw.text)
            names.update(raw.names)
            values.update(raw.values)
        if sets:
            clauses.append("SET " + ", ".join(sets))
        if self.removes:
            clauses.append("REMOVE " + ", ".join(f"#{placeholder(n, 'u_')}" for n in self.removes))
        for verb, pairs, prefix in (("ADD", self.adds, "a_"), ("DELETE", self.deletes, "d_")):
            if pairs:
                parts = []
                for name, value in pairs.items():
                    slug = placeholder(name, prefix)
                    parts.append(f"#{slug} :{slug}")
                    values[f":{slug}"] = value
                clauses.append(f"{verb} " + ", ".join(parts))
        return Expr(" ".join(clauses), names, values)


# --- transactions ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Action:
    """One named action of a transaction; a failure is reported under its name."""

    name: str
    kind: str  # Put, Update, Delete, ConditionCheck
    key: Key
    condition: Expr | None = None
    update: Update | None = None
    item: Mapping[str, Any] | None = None

    def request(self, table: str) -> dict[str, Any]:
        body: dict[str, Any] = {"TableName": table}
        names: dict[str, str] = {}
        values: dict[str, Any] = {}
        if self.kind == "Put":
            body["Item"] = to_item({**(self.item or {}), **self.key})
        else:
            body["Key"] = to_item(self.key)
        for part, member in ((self.update, "UpdateExpression"), (self.condition, None)):
            if part is None:
                continue
            expr = part.expr() if isinstance(part, Update) else part
            if member:
                body[member] = expr.text
            else:
                body["ConditionExpression"] = expr.text
                body["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
            names.update(expr.names)
            values.update(expr.values)
        if names:
            body["ExpressionAttributeNames"] = names
        if values:
            body["ExpressionAttributeValues"] = to_item(values)
        return {self.kind: body}


@dataclass(frozen=True)
class Refusal:
    """Why one action of a canceled transaction failed, and the item it found (if any)."""

    code: str
    item: dict[str, Any] | None


class TransactionRefused(Exception):
    """A transaction was canceled; ``failed`` maps each failing action's name to why."""

    def __init__(self, failed: dict[str, Refusal]) -> None:
        super().__init__(", ".join(f"{n}: {r.code}" for n, r in failed.items()))
        self.failed = failed

    def condition_failed(self, name: str) -> bool:
        refusal = self.failed.get(name)
        return refusal is not None and refusal.code == "ConditionalCheckFailed"

    def found(self, name: str) -> dict[str, Any] | None:
        refusal = self.failed.get(name)
        return refusal.item if refusal else None


class ConditionFailed(Exception):
    """A single write's condition failed; ``item`` is what the table held (or ``None``)."""

    def __init__(self, item: dict[str, Any] | None) -> None:
        super().__init__("condition failed")
        self.item = item


class Table:
    """The one place the table's calls are made: reads, paginated queries, conditional writes
    with the failed item returned, and transactions whose failures are reported by name."""

    def __init__(self, client: Any, name: str) -> None:
        self.client = client
        self.name = name

    def get(self, key: Key, attributes: tuple[str, ...] = ()) -> dict[str, Any] | None:
        """The item at ``key`` (only ``attributes``, if named), read consistently, as plain
        values; ``None`` if absent."""
        request: dict[str, Any] = {"TableName": self.name, "Key": to_item(key)}
        if attributes:
            names = {f"#a{i}": name for i, name in enumerate(attributes)}
            request["ProjectionExpression"] = ", ".join(names)
            request["ExpressionAttributeNames"] = names
        item = self.client.get_item(**request, ConsistentRead=True).get("Item")
        return from_item(item) if item else None

    def query(
        self,
        partition: str,
        *,
        index: bool = False,
        sort_below: str | None = None,
        sort_above: str | None = None,
        sort_prefix: str | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Every item of one partition (of the table, or of GSI1), page by page, lazily."""
        pk, sk = (GSI1_PK, GSI1_SK) if index else (PK, SK)
        condition = "#pk = :pk"
        values: dict[str, Any] = {":pk": partition}
        if sort_below is not None:
            condition += " AND #sk < :sk"
            values[":sk"] = sort_below
        elif sort_above is not None:
            condition += " AND #sk > :sk"
            values[":sk"] = sort_above
        elif sort_prefix is not None:
            condition += " AND begins_with(#sk, :sk)"
            values[":sk"] = sort_prefix
        names = {"#pk": pk, **({"#sk": sk} if ":sk" in values else {})}
        kwargs: dict[str, Any] = {
            "TableName": self.name,
            "KeyConditionExpression": condition,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": to_item(values),
        }
        if index:
            kwargs["IndexName"] = GSI1
        else:
            kwargs["ConsistentRead"] = True
        for page in self.client.get_paginator("query").paginate(**kwargs):
            for item in page.get("Items", []):
                yield from_item(item)

    def write(self, action: Action, *, returning: bool = False) -> dict[str, Any] | None:
        """One conditional write; ``ConditionFailed`` (with the item found) if it is refused.

        With ``returning``, an update returns the item as it is afterwards.
        """
        request = action.request(self.name)[action.kind]
        request.pop("TableName")
        call = {
            "Put": self.client.put_item,
            "Update": self.client.update_item,
            "Delete": self.client.delete_item,
        }[action.kind]
        if returning:
            request["ReturnValues"] = "ALL_NEW"
        try:
            response = call(TableName=self.name, **request)
        except ClientError as error:
            if condition_failed(error):
                found = error.response.get("Item")
                raise ConditionFailed(from_item(found) if found else None) from error
            raise
        attributes = response.get("Attributes")
        return from_item(attributes) if attributes else None

    def transact_or_changed(self, actions: list[Action], detail: str, *, watch: str) -> None:
        """``transact``; a refusal is ``StateChangedError`` with the status action ``watch``
        found (for writes where any refusal means a concurrent request won)."""
        try:
            self.transact(actions)
        except TransactionRefused as refused:
            found = refused.found(watch) or {}
            raise StateChangedError(detail, current=found.get("status")) from refused

    def transact(self, actions: list[Action]) -> None:
        """All of ``actions`` or none; ``TransactionRefused`` names each action that failed."""
        names = [a.name for a in actions]
        assert len(set(names)) == len(names), f"action names must be unique: {names}"
        try:
            self.client.transact_write_items(TransactItems=[a.request(self.name) for a in actions])
        except ClientError as error:
            if error_code(error) != "TransactionCanceledException":
                raise
            reasons = error.response.get("CancellationReasons", [])
            failed = {}
            for action, reason in zip(actions, reasons, strict=False):
                code = reason.get("Code", "None")
                if code != "None":
                    item = reason.get("Item")
                    failed[action.name] = Refusal(code, from_item(item) if item else None)
            raise TransactionRefused(failed) from error


def unless_condition_fails() -> AbstractContextManager[None]:
    """For writes whose refusal means the work is already done (or not ours to do)."""
    return suppress(ConditionFailed)
