"""The single table's key attributes; infra/template.yaml declares the same names."""

from __future__ import annotations

PK = "PK"
SK = "SK"
GSI1 = "GSI1"
GSI1_PK = "GSI1PK"
GSI1_SK = "GSI1SK"
# DynamoDB deletes an item some time after this epoch-seconds attribute passes.
TTL_ATTRIBUTE = "expires"
