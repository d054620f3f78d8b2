"""The local stack's DynamoDB transactions: all or nothing, at a cost that does not grow
with the table (wharf_stack.moto_speed.transactions_keep_only_their_items)."""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws


@pytest.fixture
def table():
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(
            TableName="t",
            KeySchema=[
                {"AttributeName": "PK", "KeyType": "HASH"},
                {"AttributeName": "SK", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "PK", "AttributeType": "S"},
                {"AttributeName": "SK", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        client.put_item(
            TableName="t",
            Item={
                "PK": {"S": "A"},
                "SK": {"S": "1"},
                "state": {"S": "open"},
                "files": {"M": {"x.whl": {"L": [{"N": "1"}, {"S": "ok"}]}}},
            },
        )
        client.put_item(TableName="t", Item={"PK": {"S": "B"}, "SK": {"S": "1"}})
        yield client


def items(client):
    return sorted(client.scan(TableName="t")["Items"], key=lambda i: (i["PK"]["S"], i["SK"]["S"]))


def test_a_canceled_transaction_leaves_every_item_as_it_was(table):
    before = items(table)

    with pytest.raises(ClientError) as caught:
        table.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": "t", "Item": {"PK": {"S": "C"}, "SK": {"S": "1"}}}},
                {
                    "Update": {
                        "TableName": "t",
                        "Key": {"PK": {"S": "A"}, "SK": {"S": "1"}},
                        "UpdateExpression": "SET #s = :s REMOVE files",
                        "ExpressionAttributeNames": {"#s": "state"},
                        "ExpressionAttributeValues": {":s": {"S": "published"}},
                    }
                },
                {"Delete": {"TableName": "t", "Key": {"PK": {"S": "B"}, "SK": {"S": "1"}}}},
                {
                    "ConditionCheck": {
                        "TableName": "t",
                        "Key": {"PK": {"S": "Z"}, "SK": {"S": "1"}},
                        "ConditionExpression": "attribute_exists(PK)",
                    }
                },
            ]
        )

    assert caught.value.response["Error"]["Code"] == "TransactionCanceledException"
    reasons = [r["Code"] for r in caught.value.response["CancellationReasons"]]
    assert reasons == ["None", "None", "None", "ConditionalCheckFailed"]
    assert items(table) == before


def test_a_transaction_that_passes_writes_every_item(table):
    table.transact_write_items(
        TransactItems=[
            {"Put": {"TableName": "t", "Item": {"PK": {"S": "C"}, "SK": {"S": "1"}}}},
            {"Delete": {"TableName": "t", "Key": {"PK": {"S": "B"}, "SK": {"S": "1"}}}},
            {
                "Update": {
                    "TableName": "t",
                    "Key": {"PK": {"S": "A"}, "SK": {"S": "1"}},
                    "UpdateExpression": "SET #s = :s",
                    "ConditionExpression": "#s = :open",
                    "ExpressionAttributeNames": {"#s": "state"},
                    "ExpressionAttributeValues": {":s": {"S": "published"}, ":open": {"S": "open"}},
                }
            },
        ]
    )

    assert [(i["PK"]["S"], i.get("state", {}).get("S")) for i in items(table)] == [
        ("A", "published"),
        ("C", None),
    ]


def test_a_transaction_does_not_copy_the_table(table, monkeypatch):
    """moto's own way deep-copied the whole table per item: 380 ms a transaction at 5,000
    items. Counted here rather than timed."""
    import copy

    from moto.dynamodb.models.table import Table

    copied = []
    real = copy.deepcopy
    monkeypatch.setattr(
        copy, "deepcopy", lambda value, memo=None: copied.append(type(value)) or real(value, memo)
    )

    table.transact_write_items(
        TransactItems=[
            {"Put": {"TableName": "t", "Item": {"PK": {"S": "C"}, "SK": {"S": "1"}}}},
            {"Put": {"TableName": "t", "Item": {"PK": {"S": "D"}, "SK": {"S": "1"}}}},
        ]
    )

    assert len(items(table)) == 4
    assert not any(issubclass(kind, Table) for kind in copied)
