"""infra/template.yaml is the one definition: local stack, code and IAM policy agree with it."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from chalicelib.adapters import dynamo_table as table_schema
from chalicelib.domain.layout import INDEX_PREFIX, STAGING_METADATA_PREFIX, STAGING_PREFIX
from wharf_stack.template import TEMPLATE_PATH, load_template, properties

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = load_template()


def test_cfn_lint_passes():
    cfn_lint = Path(sys.executable).parent / "cfn-lint"
    result = subprocess.run(
        [str(cfn_lint), str(TEMPLATE_PATH)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_local_table_has_the_template_schema(aws):
    described = aws.clients.dynamodb.describe_table(TableName=aws.resources.table)["Table"]
    props = properties(TEMPLATE, "StateTable")
    assert described["KeySchema"] == props["KeySchema"]
    assert sorted(described["AttributeDefinitions"], key=str) == sorted(
        props["AttributeDefinitions"], key=str
    )
    assert [(i["IndexName"], i["KeySchema"]) for i in described["GlobalSecondaryIndexes"]] == [
        (i["IndexName"], i["KeySchema"]) for i in props["GlobalSecondaryIndexes"]
    ]
    ttl = aws.clients.dynamodb.describe_time_to_live(TableName=aws.resources.table)
    assert ttl["TimeToLiveDescription"]["AttributeName"] == table_schema.TTL_ATTRIBUTE


def test_code_uses_the_template_key_names():
    props = properties(TEMPLATE, "StateTable")
    key = {k["KeyType"]: k["AttributeName"] for k in props["KeySchema"]}
    assert key == {"HASH": table_schema.PK, "RANGE": table_schema.SK}
    (gsi1,) = [i for i in props["GlobalSecondaryIndexes"] if i["IndexName"] == table_schema.GSI1]
    gsi_key = {k["KeyType"]: k["AttributeName"] for k in gsi1["KeySchema"]}
    assert gsi_key == {"HASH": table_schema.GSI1_PK, "RANGE": table_schema.GSI1_SK}
    assert props["TimeToLiveSpecification"]["AttributeName"] == table_schema.TTL_ATTRIBUTE
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True


def test_notification_and_lifecycle_use_the_code_prefixes(aws):
    bucket = aws.resources.bucket
    notifications = aws.clients.s3.get_bucket_notification_configuration(Bucket=bucket)
    (queue_config,) = notifications["QueueConfigurations"]
    assert queue_config["QueueArn"] == aws.resources.queue_arn
    rules = queue_config["Filter"]["Key"]["FilterRules"]
    assert [(r["Name"].lower(), r["Value"]) for r in rules] == [("prefix", STAGING_PREFIX)]

    lifecycle = aws.clients.s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    by_id = {rule["ID"]: rule for rule in lifecycle}
    assert by_id["AbortIncompleteMultipartUploads"]["AbortIncompleteMultipartUpload"] == {
        "DaysAfterInitiation": 2
    }
    assert by_id["ExpireAbandonedStagingObjects"]["Filter"]["Prefix"] == STAGING_PREFIX
    assert by_id["ExpireAbandonedStagingObjects"]["Expiration"]["Days"] == 7
    assert by_id["ExpireOldIndexRenders"]["Filter"]["Prefix"] == INDEX_PREFIX
    assert by_id["ExpireAbandonedStagingMetadata"]["Filter"]["Prefix"] == STAGING_METADATA_PREFIX


def test_local_bucket_matches_template_protections(aws):
    s3, bucket = aws.clients.s3, aws.resources.bucket
    block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert all(block.values()) and len(block) == 4
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    encryption = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]
    assert encryption["Rules"][0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"


def test_queue_redrive_matches_template(aws):
    attributes = aws.clients.sqs.get_queue_attributes(
        QueueUrl=aws.resources.queue_url, AttributeNames=["All"]
    )["Attributes"]
    props = properties(TEMPLATE, "EventsQueue")
    redrive = json.loads(attributes["RedrivePolicy"])
    assert redrive["deadLetterTargetArn"] == aws.resources.dlq_arn
    assert int(redrive["maxReceiveCount"]) == props["RedrivePolicy"]["maxReceiveCount"]
    assert attributes["VisibilityTimeout"] == str(props["VisibilityTimeout"])


# --- the hand-written IAM policies ----------------------------------------------------

_SERVICE_OF_ADAPTER = {"dynamo_": "dynamodb", "s3_": "s3", "sqs_": "sqs"}
# API operations whose IAM actions are not simply their own names. A call missing from
# both this table and the policy fails the test, so a new call cannot slip in unnoticed.
_IAM_ACTIONS = {
    "dynamodb:TransactWriteItems": {
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
        "dynamodb:ConditionCheckItem",
    },
    "s3:HeadObject": {"s3:GetObject"},
    "s3:CreateMultipartUpload": {"s3:PutObject"},
    "s3:UploadPart": {"s3:PutObject"},
    "s3:CompleteMultipartUpload": {"s3:PutObject"},
    "s3:ListParts": {"s3:ListMultipartUploadParts"},
    "s3:ListObjectVersions": {"s3:ListBucketVersions"},
    "s3:DeleteObjects": {"s3:DeleteObject", "s3:DeleteObjectVersion"},
    # s3transfer's managed copy (what boto3's client.copy runs): HeadObject, CopyObject or
    # UploadPartCopy.
    "s3:Copy": {"s3:GetObject", "s3:PutObject"},
    # A presigned GET is signed by the Lambda's role, so the role needs the read.
    "s3:GeneratePresignedUrl": {"s3:GetObject"},
}


def _called_actions() -> set[str]:
    """Every IAM action the adapters' AWS calls need (``get_item`` -> ``dynamodb:GetItem``)."""
    actions = set()
    for path in (ROOT / "chalicelib" / "adapters").glob("*.py"):
        service = next((s for p, s in _SERVICE_OF_ADAPTER.items() if path.name.startswith(p)), None)
        if service is None:
            continue
        source = path.read_text()
        methods = re.findall(r"_client\.(\w+)\(", source)
        # A managed transfer given the client calls through it: ``manager.copy(...)``.
        if "TransferManager(self._client)" in source:
            methods += re.findall(r"manager\.(\w+)\(", source)
        methods += re.findall(r"get_paginator\(\"(\w+)\"\)", source)
        for method in methods:
            if method == "get_paginator":
                continue
            camel = "".join(part.capitalize() for part in method.split("_"))
            operation = f"{service}:{camel}"
            actions |= _IAM_ACTIONS.get(operation, {operation})
    return actions


@pytest.mark.parametrize(("stage", "prefix"), [("dev", "wharf-dev"), ("prod", "wharf")])
def test_policy_grants_what_the_code_calls_on_the_stage_resources(stage, prefix):
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    stage_config = config["stages"][stage]
    assert stage_config["autogen_policy"] is False
    policy = json.loads((ROOT / ".chalice" / stage_config["iam_policy_file"]).read_text())
    granted = {
        action
        for statement in policy["Statement"]
        for action in statement["Action"]
        if statement["Effect"] == "Allow"
    }
    called = _called_actions()
    assert called, "the scan found no AWS calls"
    assert called <= granted, f"missing from the policy: {sorted(called - granted)}"
    resources = [
        r
        for statement in policy["Statement"]
        for r in (
            statement["Resource"]
            if isinstance(statement["Resource"], list)
            else [statement["Resource"]]
        )
    ]
    assert "*" not in resources
    for resource in resources:
        if not resource.startswith("arn:aws:logs:"):
            assert f"{prefix}-" in resource, resource
    env = stage_config["environment_variables"]
    assert env["WHARF_TABLE_NAME"] == f"{prefix}-state"
    assert env["WHARF_QUEUE_ARN"].endswith(f":{prefix}-events")


def test_the_event_queue_is_the_one_the_app_listens_to():
    from app import app

    sources = [s for s in app.event_sources if type(s).__name__ == "SQSEventConfig"]
    assert [s.batch_size for s in sources] == [1]


@pytest.mark.parametrize(("stage", "prefix"), [("dev", "wharf-dev"), ("prod", "wharf")])
def test_the_app_may_only_send_to_the_review_queue(stage, prefix):
    policy = json.loads((ROOT / ".chalice" / f"policy-{stage}.json").read_text())
    senders = [s for s in policy["Statement"] if "sqs:SendMessage" in s["Action"]]
    assert senders == [
        {
            "Sid": "ReviewQueue",
            "Effect": "Allow",
            "Action": ["sqs:SendMessage"],
            "Resource": f"arn:aws:sqs:*:*:{prefix}-reviews",
        }
    ]


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_policy_deletes_only_where_unpublished_bytes_live(stage):
    """Publishing moves no bytes, so the role deletes only upload folders and staging: never
    an index render, never a legacy upload's published file."""
    from chalicelib.domain.layout import STORED_PREFIX

    policy = json.loads((ROOT / ".chalice" / f"policy-{stage}.json").read_text())
    deletable = {
        resource.split("/", 1)[1]
        for statement in policy["Statement"]
        if any(a.startswith("s3:DeleteObject") for a in statement["Action"])
        for resource in statement["Resource"]
    }
    assert deletable == {f"{STORED_PREFIX}*", f"{STAGING_PREFIX}*", f"{STAGING_METADATA_PREFIX}*"}
    assert all(
        "Delete" not in a
        for s in policy["Statement"]
        if "s3:GetObject" in s["Action"]
        for a in s["Action"]
    )
