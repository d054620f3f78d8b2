"""Where things live in the bucket. infra/template.yaml filters and expires by these prefixes."""

from __future__ import annotations

# Objects appearing here are completed uploads waiting for the validator; the
# bucket notification and the lifecycle rule for abandoned uploads use this prefix.
STAGING_PREFIX = "staging/"
# Core metadata extracted by the validator, kept apart so writing it fires no event.
STAGING_METADATA_PREFIX = "staging-metadata/"
# The static index: rendered from DynamoDB, served by the read routes.
INDEX_PREFIX = "simple/"

ROOT_INDEX_HTML = f"{INDEX_PREFIX}index.html"
ROOT_INDEX_JSON = f"{INDEX_PREFIX}index.json"


def staged_key(token: str, file_id: str, filename: str) -> str:
    return f"{STAGING_PREFIX}{token}/{file_id}/{filename}"


def staged_metadata_key(token: str, file_id: str, filename: str) -> str:
    return f"{STAGING_METADATA_PREFIX}{token}/{file_id}/{filename}.metadata"


def parse_staged_key(key: str) -> tuple[str, str, str] | None:
    """(token, file id, filename) of a staged upload's key, or ``None`` for anything else."""
    if not key.startswith(STAGING_PREFIX):
        return None
    parts = key[len(STAGING_PREFIX) :].split("/")
    if len(parts) != 3 or not all(parts):
        return None
    return parts[0], parts[1], parts[2]
