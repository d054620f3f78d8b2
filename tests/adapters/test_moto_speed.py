"""The local stack's moto speed-ups (wharf_stack.moto_speed) answer what moto itself
answers: DynamoDB item responses, object listings, multipart completions, and
transactions that are all or nothing."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
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


def new_table() -> Any:
    """A DynamoDB client (inside mock_aws) with table ``t``, keyed on PK and SK as wharf's."""
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
    return dynamodb


@pytest.fixture
def client(monkeypatch):
    monkeypatch.setenv("WHARF_MOTO_SPEED_CHECK", "1")  # each response checked against moto's
    with mock_aws():
        yield new_table()


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


def test_listing_object_versions_answers_the_same_without_reading_any_bytes(monkeypatch):
    from moto.s3.models import FakeKey

    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="wharf-bucket")
        s3.put_bucket_versioning(
            Bucket="wharf-bucket", VersioningConfiguration={"Status": "Enabled"}
        )
        first = s3.put_object(Bucket="wharf-bucket", Key="staging/a", Body=b"one")["VersionId"]
        second = s3.put_object(Bucket="wharf-bucket", Key="staging/a", Body=b"two!")["VersionId"]
        s3.put_object(Bucket="wharf-bucket", Key="staging/b", Body=b"x")
        s3.delete_object(Bucket="wharf-bucket", Key="staging/b")
        s3.put_object(Bucket="wharf-bucket", Key="files/big", Body=b"y" * 100_000)

        def no_reads(self):
            raise AssertionError("a listing read an object's bytes")

        monkeypatch.setattr(FakeKey, "__getstate__", no_reads)
        listed = s3.list_object_versions(Bucket="wharf-bucket", Prefix="staging/")

    versions = [(v["Key"], v["VersionId"], v["IsLatest"], v["Size"]) for v in listed["Versions"]]
    assert versions[:2] == [("staging/a", second, True, 4), ("staging/a", first, False, 3)]
    assert [v[0] for v in versions] == ["staging/a", "staging/a", "staging/b"]
    assert [(m["Key"], m["IsLatest"]) for m in listed["DeleteMarkers"]] == [("staging/b", True)]


def test_objects_listed_keep_their_bytes():
    import gc

    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="wharf-bucket")
        s3.put_object(Bucket="wharf-bucket", Key="files/a", Body=b"payload")
        for _ in range(3):
            s3.list_object_versions(Bucket="wharf-bucket")
        gc.collect()

        body = s3.get_object(Bucket="wharf-bucket", Key="files/a")["Body"].read()

    assert body == b"payload"


def _multipart(s3, parts: list[bytes], **extra) -> tuple[str, list[dict]]:
    upload = s3.create_multipart_upload(Bucket="wharf-bucket", Key="files/big", **extra)
    done = []
    for number, data in enumerate(parts, start=1):
        kwargs = {"ChecksumAlgorithm": extra["ChecksumAlgorithm"]} if extra else {}
        reply = s3.upload_part(
            Bucket="wharf-bucket",
            Key="files/big",
            UploadId=upload["UploadId"],
            PartNumber=number,
            Body=data,
            **kwargs,
        )
        entry = {"PartNumber": number, "ETag": reply["ETag"]}
        if extra:
            field = f"Checksum{extra['ChecksumAlgorithm']}"
            entry[field] = reply[field]
        done.append(entry)
    return upload["UploadId"], done


@pytest.mark.parametrize(
    "checksum",
    [
        {},  # S3's default: a CRC64NVME of the whole object
        {"ChecksumAlgorithm": "SHA256"},  # a checksum of the parts' checksums
        {"ChecksumAlgorithm": "CRC32", "ChecksumType": "FULL_OBJECT"},
    ],
    ids=["default", "sha256-composite", "crc32-full-object"],
)
def test_a_completed_multipart_upload_is_what_motos_own_completion_makes(checksum):
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.s3.models import FakeMultipart, s3_backends

    parts = [b"a" * 5 * 1024 * 1024, b"b" * 5 * 1024 * 1024, b"tail"]
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="wharf-bucket")
        upload_id, done = _multipart(s3, parts, **checksum)
        bucket = s3_backends[DEFAULT_ACCOUNT_ID]["aws"].get_bucket("wharf-bucket")
        multipart = bucket.multiparts[upload_id]
        listed = [(p["PartNumber"], p["ETag"]) for p in done]

        value, etag, summed = FakeMultipart.complete(multipart, iter(listed))
        expected = FakeMultipart.complete._wharf_original(multipart, iter(listed))

        s3.complete_multipart_upload(
            Bucket="wharf-bucket",
            Key="files/big",
            UploadId=upload_id,
            MultipartUpload={"Parts": done},
        )
        body = s3.get_object(Bucket="wharf-bucket", Key="files/big")["Body"].read()

    assert (bytes(value), etag, summed) == expected
    assert body == b"".join(parts)


def test_a_completion_with_a_wrong_or_small_part_is_refused():
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="wharf-bucket")
        upload_id, done = _multipart(s3, [b"a" * 5 * 1024 * 1024, b"b"])
        wrong = [done[0], {**done[1], "ETag": '"0000"'}]
        assert _refused(s3, upload_id, wrong) == "InvalidPart"

        upload_id, done = _multipart(s3, [b"small", b"b"])
        assert _refused(s3, upload_id, done) == "EntityTooSmall"


def _refused(s3, upload_id: str, parts: list[dict]) -> str:
    """The error code of a CompleteMultipartUpload that must fail."""
    with pytest.raises(ClientError) as caught:
        s3.complete_multipart_upload(
            Bucket="wharf-bucket",
            Key="files/big",
            UploadId=upload_id,
            MultipartUpload={"Parts": parts},
        )
    return caught.value.response["Error"]["Code"]


# --- transactions (transactions_keep_only_their_items): all or nothing, at a cost that
# does not grow with the table ----------------------------------------------------------


@pytest.fixture
def table():
    with mock_aws():
        client = new_table()
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


def test_the_server_finds_each_hosts_service_as_moto_does_and_once(monkeypatch) -> None:
    from moto import backends
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    patched = DomainDispatcherApplication.get_backend_for_host
    original = patched._wharf_original
    app = DomainDispatcherApplication(create_backend_app)
    hosts = [
        "s3.us-east-1.amazonaws.com",
        "dynamodb",
        "sqs.us-east-1.amazonaws.com",
        "moto_api",
        None,
        "nothing.example",
    ]
    for host in hosts:
        assert patched(app, host) == original(app, host)
    listed = []
    real_listing = backends.list_of_moto_modules
    monkeypatch.setattr(
        backends, "list_of_moto_modules", lambda: listed.append(1) or real_listing()
    )
    fresh = "sqs.ap-southeast-4.amazonaws.com"  # asked of no other test
    assert [patched(app, fresh) for _ in range(5)] == ["sqs"] * 5
    assert len(listed) == 1
