"""The local stack's fast DynamoDB responses (wharf_stack.moto_speed) say what moto's own
shape serializer says, for every kind of attribute value and item operation."""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws

ITEM = {
    "PK": {"S": "P#1"},
    "SK": {"S": "A"},
    "text": {"S": 'ünïcode "quoted" \\ </script>'},
    "number": {"N": "12345678901234567890.5"},
    "binary": {"B": b"\x00\xffbytes"},
    "flag": {"BOOL": True},
    "nothing": {"NULL": True},
    "strings": {"SS": ["a", "b"]},
    "numbers": {"NS": ["1", "2.5"]},
    "binaries": {"BS": [b"x", b"y"]},
    "nested": {"M": {"list": {"L": [{"S": "x"}, {"M": {"n": {"N": "1"}}}]}, "empty": {"M": {}}}},
}


@pytest.fixture
def client(monkeypatch):
    monkeypatch.setenv("WHARF_MOTO_SPEED_CHECK", "1")  # each response checked against moto's
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        dynamodb.create_table(
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
        yield dynamodb


def test_every_item_operation_reads_back_what_was_written(client):
    from moto.dynamodb.responses import DynamoResult

    assert getattr(DynamoResult.execute_result, "_wharf_patched", False)
    key = {"PK": ITEM["PK"], "SK": ITEM["SK"]}
    client.put_item(TableName="t", Item=ITEM, ReturnConsumedCapacity="TOTAL")

    assert client.get_item(TableName="t", Key=key)["Item"] == ITEM
    assert client.get_item(TableName="t", Key={**key, "SK": {"S": "none"}}).get("Item") is None

    for extra in ("B", "C"):
        client.put_item(TableName="t", Item={**ITEM, "SK": {"S": extra}})
    page = client.query(
        TableName="t",
        KeyConditionExpression="PK = :p",
        ExpressionAttributeValues={":p": ITEM["PK"]},
        Limit=2,
    )
    assert [i["SK"]["S"] for i in page["Items"]] == ["A", "B"]
    assert page["Count"] == 2
    assert page["LastEvaluatedKey"] == {"PK": ITEM["PK"], "SK": {"S": "B"}}
    assert client.scan(TableName="t", Select="COUNT")["Count"] == 3

    updated = client.update_item(
        TableName="t",
        Key=key,
        UpdateExpression="SET #n = #n + :one",
        ExpressionAttributeNames={"#n": "number"},
        ExpressionAttributeValues={":one": {"N": "1"}},
        ReturnValues="ALL_NEW",
    )
    assert updated["Attributes"]["number"] == {"N": "12345678901234567891.5"}

    batch = client.batch_get_item(RequestItems={"t": {"Keys": [key]}})
    assert batch["Responses"]["t"] == [updated["Attributes"]]
    assert batch["UnprocessedKeys"] == {}
    got = client.transact_get_items(TransactItems=[{"Get": {"TableName": "t", "Key": key}}])
    assert got["Responses"] == [{"Item": updated["Attributes"]}]

    deleted = client.delete_item(TableName="t", Key=key, ReturnValues="ALL_OLD")
    assert deleted["Attributes"] == updated["Attributes"]
    client.batch_write_item(
        RequestItems={"t": [{"DeleteRequest": {"Key": {**key, "SK": {"S": "B"}}}}]}
    )
    client.transact_write_items(
        TransactItems=[{"Delete": {"TableName": "t", "Key": {**key, "SK": {"S": "C"}}}}]
    )
    assert client.scan(TableName="t")["Items"] == []
