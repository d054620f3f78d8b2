"""The one Logger every handler uses: JSON lines, request id and token id, never a secret."""

from __future__ import annotations

from aws_lambda_powertools import Logger

logger = Logger(service="wharf")
