"""Tokens in the single table: one item per token, keyed by the hash of its secret.

Authentication is a consistent ``GetItem`` on the hash, so a revocation is seen by
the very next request. The sparse ``GSI1`` lists tokens by id for the admin API.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from ..domain.clock import iso
from ..domain.errors import ConflictError, NotFoundError
from ..domain.tokens import TokenRecord
from .aws_errors import condition_failed
from .dynamo import from_item, to_item
from .table_schema import GSI1, GSI1_PK, GSI1_SK, PK, SK, TTL_ATTRIBUTE

_TOKENS_PARTITION = "TOKENS"
_SK = "TOKEN"


def _key(secret_hash: str) -> dict[str, Any]:
    return to_item({PK: f"TOKEN#{secret_hash}", SK: _SK})


def _iso(value: datetime | None) -> str | None:
    return iso(value) if value is not None else None


def _record(item: dict[str, Any]) -> TokenRecord:
    data = from_item(item)
    return TokenRecord(
        id=data["id"],
        secret_hash=data["secret_hash"],
        role=data["role"],
        projects=tuple(data.get("projects", [])),
        description=data.get("description", ""),
        created_at=data["created_at"],
        expires_at=data.get("expires_at"),
        last_used_at=data.get("last_used_at"),
        revoked_at=data.get("revoked_at"),
    )


class DynamoTokenStore:
    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def add(self, record: TokenRecord, *, expire_at: datetime | None) -> None:
        item = to_item(
            {
                PK: f"TOKEN#{record.secret_hash}",
                SK: _SK,
                GSI1_PK: _TOKENS_PARTITION,
                GSI1_SK: record.id,
                "id": record.id,
                "secret_hash": record.secret_hash,
                "role": str(record.role),
                "projects": list(record.projects),
                "description": record.description,
                "created_at": _iso(record.created_at),
                "expires_at": _iso(record.expires_at),
                TTL_ATTRIBUTE: int(expire_at.timestamp()) if expire_at else None,
            }
        )
        try:
            self._client.put_item(
                TableName=self._table,
                Item=item,
                ConditionExpression="attribute_not_exists(#pk)",
                ExpressionAttributeNames={"#pk": PK},
            )
        except ClientError as error:
            if condition_failed(error):
                raise ConflictError("A token with this secret already exists.") from error
            raise

    def get_by_hash(self, secret_hash: str) -> TokenRecord | None:
        response = self._client.get_item(
            TableName=self._table, Key=_key(secret_hash), ConsistentRead=True
        )
        item = response.get("Item")
        return _record(item) if item else None

    def get_by_id(self, token_id: str) -> TokenRecord | None:
        # The index is eventually consistent; callers that act on the result
        # (revoke) do so with a condition on the base item.
        response = self._client.query(
            TableName=self._table,
            IndexName=GSI1,
            KeyConditionExpression="#pk = :pk AND #sk = :sk",
            ExpressionAttributeNames={"#pk": GSI1_PK, "#sk": GSI1_SK},
            ExpressionAttributeValues=to_item({":pk": _TOKENS_PARTITION, ":sk": token_id}),
        )
        items = response.get("Items", [])
        return _record(items[0]) if items else None

    def all(self) -> Iterator[TokenRecord]:
        paginator = self._client.get_paginator("query")
        pages = paginator.paginate(
            TableName=self._table,
            IndexName=GSI1,
            KeyConditionExpression="#pk = :pk",
            ExpressionAttributeNames={"#pk": GSI1_PK},
            ExpressionAttributeValues=to_item({":pk": _TOKENS_PARTITION}),
        )
        records = [_record(item) for page in pages for item in page.get("Items", [])]
        yield from sorted(records, key=lambda r: (r.created_at, r.id))

    def revoke(self, secret_hash: str, at: datetime, *, expire_at: datetime) -> None:
        try:
            self._client.update_item(
                TableName=self._table,
                Key=_key(secret_hash),
                UpdateExpression="SET revoked_at = :at, #ttl = :ttl",
                ConditionExpression="attribute_exists(#pk) AND attribute_not_exists(revoked_at)",
                ExpressionAttributeNames={"#pk": PK, "#ttl": TTL_ATTRIBUTE},
                ExpressionAttributeValues=to_item(
                    {":at": _iso(at), ":ttl": int(expire_at.timestamp())}
                ),
            )
        except ClientError as error:
            if condition_failed(error):
                raise NotFoundError("No live token with this id.") from error
            raise

    def touch(self, secret_hash: str, at: datetime, *, not_since: datetime) -> None:
        try:
            self._client.update_item(
                TableName=self._table,
                Key=_key(secret_hash),
                UpdateExpression="SET last_used_at = :at",
                ConditionExpression=(
                    "attribute_exists(#pk) AND "
                    "(attribute_not_exists(last_used_at) OR last_used_at <= :since)"
                ),
                ExpressionAttributeNames={"#pk": PK},
                ExpressionAttributeValues=to_item({":at": _iso(at), ":since": _iso(not_since)}),
            )
        except ClientError as error:
            # Another request recorded a recent use first: that is all we wanted.
            if not condition_failed(error):
                raise
