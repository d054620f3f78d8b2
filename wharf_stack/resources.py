"""Create the template's resources in moto, translating CloudFormation properties to API calls.

Only names differ from a deployment (they are fixed here, generated there); key
schemas, TTL, lifecycle rules, queue settings and notification filters come from
the template itself.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from .template import load_template, properties


@dataclass(frozen=True)
class LocalResources:
    bucket: str
    table: str
    queue_url: str
    queue_arn: str
    dlq_url: str
    dlq_arn: str
    review_queue_url: str


def _queue_attributes(props: dict[str, Any]) -> dict[str, str]:
    names = ("VisibilityTimeout", "MessageRetentionPeriod", "DelaySeconds")
    return {name: str(props[name]) for name in names if name in props}


def encryption_rules(props: dict[str, Any]) -> list[dict[str, Any]]:
    """Default encryption in the S3 API's shape (CloudFormation drops the "Apply")."""
    return [
        {"ApplyServerSideEncryptionByDefault": rule["ServerSideEncryptionByDefault"]}
        for rule in props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    ]


def lifecycle_rules(props: dict[str, Any]) -> list[dict[str, Any]]:
    """The bucket's lifecycle rules in the S3 API's shape."""
    rules = []
    for rule in props.get("LifecycleConfiguration", {}).get("Rules", []):
        api_rule: dict[str, Any] = {
            "ID": rule["Id"],
            "Status": rule["Status"],
            "Filter": {"Prefix": rule.get("Prefix", "")},
        }
        if "ExpirationInDays" in rule:
            api_rule["Expiration"] = {"Days": int(rule["ExpirationInDays"])}
        if "AbortIncompleteMultipartUpload" in rule:
            days = int(rule["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"])
            api_rule["AbortIncompleteMultipartUpload"] = {"DaysAfterInitiation": days}
        if "NoncurrentVersionExpiration" in rule:
            days = int(rule["NoncurrentVersionExpiration"]["NoncurrentDays"])
            api_rule["NoncurrentVersionExpiration"] = {"NoncurrentDays": days}
        rules.append(api_rule)
    return rules


def queue_notifications(props: dict[str, Any], queue_arn: str) -> list[dict[str, Any]]:
    """The bucket's queue notifications in the S3 API's shape, aimed at ``queue_arn``."""
    out = []
    for config in props.get("NotificationConfiguration", {}).get("QueueConfigurations", []):
        rules = config.get("Filter", {}).get("S3Key", {}).get("Rules", [])
        entry: dict[str, Any] = {"QueueArn": queue_arn, "Events": [config["Event"]]}
        if rules:
            entry["Filter"] = {
                "Key": {"FilterRules": [{"Name": r["Name"], "Value": r["Value"]} for r in rules]}
            }
        out.append(entry)
    return out


def create_resources(s3: Any, dynamodb: Any, sqs: Any, *, prefix: str) -> LocalResources:
    template = load_template()

    table_props = properties(template, "StateTable")
    table = f"{prefix}-state"
    dynamodb.create_table(
        TableName=table,
        AttributeDefinitions=table_props["AttributeDefinitions"],
        KeySchema=table_props["KeySchema"],
        GlobalSecondaryIndexes=table_props.get("GlobalSecondaryIndexes", []),
        BillingMode=table_props["BillingMode"],
    )
    dynamodb.update_time_to_live(
        TableName=table, TimeToLiveSpecification=table_props["TimeToLiveSpecification"]
    )

    dlq_url = sqs.create_queue(
        QueueName=f"{prefix}-events-dlq",
        Attributes=_queue_attributes(properties(template, "EventsDeadLetterQueue")),
    )["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    queue_props = properties(template, "EventsQueue")
    redrive = queue_props["RedrivePolicy"]
    queue_url = sqs.create_queue(
        QueueName=f"{prefix}-events",
        Attributes={
            **_queue_attributes(queue_props),
            "RedrivePolicy": json.dumps(
                {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": int(redrive["maxReceiveCount"])}
            ),
        },
    )["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]

    review_queue_url = _queue_with_dead_letters(
        sqs, template, "ReviewQueue", "ReviewDeadLetterQueue", f"{prefix}-reviews"
    )

    bucket_props = properties(template, "PackagesBucket")
    bucket = f"{prefix}-packages"
    s3.create_bucket(Bucket=bucket)
    s3.put_public_access_block(
        Bucket=bucket,
        PublicAccessBlockConfiguration=bucket_props["PublicAccessBlockConfiguration"],
    )
    s3.put_bucket_versioning(
        Bucket=bucket, VersioningConfiguration=bucket_props["VersioningConfiguration"]
    )
    s3.put_bucket_encryption(
        Bucket=bucket,
        ServerSideEncryptionConfiguration={"Rules": encryption_rules(bucket_props)},
    )
    s3.put_bucket_lifecycle_configuration(
        Bucket=bucket, LifecycleConfiguration={"Rules": lifecycle_rules(bucket_props)}
    )
    s3.put_bucket_notification_configuration(
        Bucket=bucket,
        NotificationConfiguration={
            "QueueConfigurations": queue_notifications(bucket_props, queue_arn)
        },
    )
    return LocalResources(
        bucket=bucket,
        table=table,
        queue_url=queue_url,
        queue_arn=queue_arn,
        dlq_url=dlq_url,
        dlq_arn=dlq_arn,
        review_queue_url=review_queue_url,
    )


def _queue_with_dead_letters(
    sqs: Any, template: dict[str, Any], resource: str, dead_letters: str, name: str
) -> str:
    """A queue and its dead-letter queue as the template declares them; the queue's URL."""
    dlq_url = sqs.create_queue(
        QueueName=f"{name}-dlq", Attributes=_queue_attributes(properties(template, dead_letters))
    )["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    props = properties(template, resource)
    redrive = {
        "deadLetterTargetArn": dlq_arn,
        "maxReceiveCount": int(props["RedrivePolicy"]["maxReceiveCount"]),
    }
    attributes = {**_queue_attributes(props), "RedrivePolicy": json.dumps(redrive)}
    return str(sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"])
