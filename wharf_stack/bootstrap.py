"""Create the first admin token of a deployed wharf, straight in its table.

    wharf-bootstrap-admin --table wharf-state [--region eu-west-1]

Uses your AWS credentials (dynamodb:PutItem on the table, in a transaction with the
token's audit event), because no token
exists yet to call the admin API with. Prints the secret once.
"""

from __future__ import annotations

import argparse
import sys

import boto3

from chalicelib.adapters.dynamo_audit import DynamoAuditLog
from chalicelib.adapters.dynamo_tokens import DynamoTokenStore
from chalicelib.domain.clock import utcnow
from chalicelib.domain.tokens import Role, TokenRequest
from chalicelib.services.tokens import TokenService
from chalicelib.settings import Settings
from chalicelib.wiring import audit_trail


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="wharf-bootstrap-admin", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--table", required=True, help="the stack's TableName output")
    parser.add_argument("--region", help="AWS region (default: your AWS configuration's)")
    parser.add_argument("--description", default="first admin (bootstrap)")
    parser.add_argument("--expires", type=int, metavar="DAYS", help="expire after DAYS days")
    args = parser.parse_args(argv)

    client = boto3.session.Session(region_name=args.region).client("dynamodb")
    # Only the audit settings matter here: the bootstrap writes a token and its event.
    settings = Settings(table_name=args.table, bucket_name="unused", queue_arn="unused")
    service = TokenService(
        DynamoTokenStore(client, args.table),
        utcnow,
        touch_seconds=300,
        retention_days=30,
        audit=audit_trail(settings, DynamoAuditLog(client, args.table), utcnow),
    )
    issued = service.issue(
        TokenRequest(role=Role.ADMIN, description=args.description, expires_days=args.expires),
        by="bootstrap",
    )
    print(f"Created admin token {issued.record.id}.", file=sys.stderr)
    print(issued.secret)
    print("Store it now: wharf keeps only a hash and cannot show it again.", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
