"""The typed settings model: the only module that reads ``os.environ``."""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import lru_cache

from pydantic import BaseModel, ConfigDict, Field


class Settings(BaseModel):
    """Deployment settings, read from ``WHARF_*`` environment variables.

    ``.chalice/config.json`` sets them per stage from the infra stack's outputs;
    the local stack sets them for the moto resources it creates.
    """

    model_config = ConfigDict(frozen=True)

    table_name: str = Field(min_length=1)
    bucket_name: str = Field(min_length=1)
    queue_arn: str = "arn:aws:sqs:us-east-1:000000000000:wharf-events"
    # A token's last-used time is written at most this often, so that a busy
    # installer does not turn every read into a DynamoDB write.
    token_touch_seconds: int = Field(default=300, ge=0)
    # Expired or revoked token records are kept this long (for `token list`)
    # before DynamoDB's TTL removes them.
    token_retention_days: int = Field(default=30, ge=1)


_ENV_NAMES = {
    "table_name": "WHARF_TABLE_NAME",
    "bucket_name": "WHARF_BUCKET_NAME",
    "queue_arn": "WHARF_QUEUE_ARN",
    "token_touch_seconds": "WHARF_TOKEN_TOUCH_SECONDS",
    "token_retention_days": "WHARF_TOKEN_RETENTION_DAYS",
}


def settings_from(environ: Mapping[str, str]) -> Settings:
    """Build settings from an environment mapping; raises ``pydantic.ValidationError``."""
    values = {field: environ[name] for field, name in _ENV_NAMES.items() if name in environ}
    return Settings.model_validate(values)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read once."""
    return settings_from(os.environ)


def env_for(settings: Settings) -> dict[str, str]:
    """The environment variables that reproduce ``settings`` (used by the local stack)."""
    data = settings.model_dump()
    return {name: str(data[field]) for field, name in _ENV_NAMES.items()}
