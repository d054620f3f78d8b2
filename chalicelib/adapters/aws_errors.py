"""Reading botocore errors, so adapters can turn them into domain errors."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from botocore.exceptions import ClientError


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def condition_failed(error: ClientError) -> bool:
    return error_code(error) == "ConditionalCheckFailedException"


def cancellation_reasons(error: ClientError) -> list[str]:
    """Per-action codes of a canceled transaction, in the order the actions were given."""
    return [r.get("Code", "") for r in error.response.get("CancellationReasons", [])]
