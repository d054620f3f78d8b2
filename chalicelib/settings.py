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
    # The events queue the SQS handler subscribes to: required, as a stage without it
    # would subscribe to nothing and no upload would ever be validated.
    queue_arn: str = Field(min_length=1)
    # The CloudWatch namespace of wharf's metrics (one per stage: the template's NamePrefix).
    metrics_namespace: str = Field(default="wharf", min_length=1)
    # A token's last-used time is written at most this often, so that a busy
    # installer does not turn every read into a DynamoDB write.
    token_touch_seconds: int = Field(default=300, ge=0)
    # A warm instance trusts a token it read this recently (revocations made elsewhere take
    # up to this long to apply there); 0 reads the token on every request.
    token_cache_seconds: int = Field(default=5, ge=0, le=60)
    # A warm instance serves a published file's entry (and its project's standing) it read
    # this recently; a quarantine or deletion takes up to this long to apply on other
    # warm instances. 0 reads them on every request.
    read_cache_seconds: int = Field(default=5, ge=0, le=60)
    # A warm instance keeps the index pages it read, up to this many bytes, and serves one
    # again while its project's record says the pages reach no further (one DynamoDB read
    # instead of an S3 GET). 0 reads every page from S3.
    index_cache_bytes: int = Field(default=16 * 1024**2, ge=0, le=1024**3)
    # The validator keeps a local copy of files up to this size, so it reads them from S3
    # once (Lambda's /tmp holds 512 MB); larger files are inspected from S3 through
    # ranged GETs, and hashed as they are read.
    validation_spool_bytes: int = Field(default=384 * 1024**2, ge=0)
    # Expired or revoked token records are kept this long (for `token list`)
    # before DynamoDB's TTL removes them.
    token_retention_days: int = Field(default=30, ge=1)
    # Absolute base URL for links in Upload 2.0 responses when the API sits behind a
    # custom domain; otherwise it is derived from the request (Host, stage prefix). The
    # index's PEP 740 provenance links (absolute by the spec) appear only when it is set.
    public_url: str | None = None
    # Publishing sessions live this long unless extended, never beyond the maximum,
    # and terminal sessions keep answering status for the retention period.
    session_lifetime_seconds: int = Field(default=24 * 3600, ge=60)
    session_max_lifetime_seconds: int = Field(default=7 * 24 * 3600, ge=60)
    session_retention_seconds: int = Field(default=7 * 24 * 3600, ge=0)
    # API Gateway caps a request at 10 MB and Lambda a synchronous payload at 6 MB
    # (base64 included), so bodies above this go by the multipart mechanism.
    inline_limit_bytes: int = Field(default=4 * 1024 * 1024, ge=1)
    max_file_bytes: int = Field(default=50 * 1024**3, ge=1)
    # Presigned part URLs of the multipart mechanism live this long (renewable).
    part_url_seconds: int = Field(default=900, ge=1, le=7 * 24 * 3600)
    default_part_size: int = Field(default=16 * 1024**2, ge=5 * 1024**2)
    retry_after_seconds: int = Field(default=1, ge=1)
    allow_local_versions: bool = False
    # Validation caps (docs/validation.md).
    max_archive_members: int = Field(default=50_000, ge=1)
    max_uncompressed_bytes: int = Field(default=16 * 1024**3, ge=1)
    max_compression_ratio: float = Field(default=50.0, gt=1)
    compression_ratio_floor_bytes: int = Field(default=64 * 1024**2, ge=0)
    max_metadata_bytes: int = Field(default=2 * 1024**2, ge=1024)
    enforce_record: bool = True
    # The events queue's maxReceiveCount: on this delivery a failing publish gives up
    # (session -> error, reservations released) instead of going to the DLQ.
    publish_attempts: int = Field(default=5, ge=1)
    # A file or publish left in processing this long by a crashed Lambda gets its event again.
    repair_after_seconds: int = Field(default=600, ge=1)
    # Presigned download URLs (302 from /files/ and the stage) live this long.
    download_url_seconds: int = Field(default=300, ge=10, le=3600)
    # How long installers may reuse an index page (pip >= 26.2 honours max-age).
    index_max_age_seconds: int = Field(default=10, ge=0)
    # The audit trail keeps an event this long before DynamoDB's TTL removes it.
    audit_retention_days: int = Field(default=400, ge=1)
    # Failed authentications are counted per source address in buckets of this length.
    auth_failure_bucket_seconds: int = Field(default=300, ge=1, le=86400)
    # Trusted publishing: the audience CI tokens must name (GET /_/oidc/audience). Make it
    # unique per deployment; letters, digits and '-' keep GitLab's <AUD>_ID_TOKEN variable
    # name the same in every client (docs/trusted-publishing.md).
    oidc_audience: str = Field(default="wharf", pattern=r"^[a-z][a-z0-9-]{0,62}$")
    # Tokens minted for a CI run live this long (PyPI: 15 minutes, the most allowed).
    oidc_token_seconds: int = Field(default=900, ge=60, le=900)
    # PEP 740 attestations from plain API tokens (not trusted publishing): refused unless
    # allowed; when allowed the signer is recorded, not matched (docs/attestations.md).
    allow_token_attestations: bool = False
    # Reviewers every validated file waits for (comma-separated names; empty: no review
    # step), the queue that announces files to them, and what silence means unless an
    # admin set a project's policy (docs/review.md).
    reviewers: str = Field(default="", pattern=r"^[a-z0-9,\- ]*$")
    review_queue_url: str | None = None
    review_timeout_seconds: int = Field(default=3600, ge=1, le=30 * 24 * 3600)
    review_on_timeout: str = Field(default="reject", pattern="^(approve|reject)$")
    # Presigned URLs in announcements live this long (a reviewer can ask for fresh ones).
    review_url_seconds: int = Field(default=3600, ge=60, le=7 * 24 * 3600)
    # A legacy upload waits this long for its review before answering 202 (twine and uv
    # take it as success); within API Gateway's 29 s.
    legacy_review_wait_seconds: float = Field(default=20.0, ge=0, le=25)
    # The people's pages: how long a browser stays signed in, and whether its cookie is
    # marked Secure (always, except on the local stack's plain http).
    browser_session_seconds: int = Field(default=8 * 3600, ge=60)
    secure_cookies: bool = True


def env_name(field: str) -> str:
    """The environment variable a setting is read from: ``WHARF_`` and its name."""
    return f"WHARF_{field.upper()}"


def settings_from(environ: Mapping[str, str]) -> Settings:
    """Build settings from an environment mapping; raises ``pydantic.ValidationError``."""
    names = {field: env_name(field) for field in Settings.model_fields}
    values = {field: environ[name] for field, name in names.items() if name in environ}
    return Settings.model_validate(values)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read once."""
    return settings_from(os.environ)
