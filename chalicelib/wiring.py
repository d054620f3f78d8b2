"""The only place AWS clients are created and services are assembled; tests swap them here."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import boto3
from botocore.config import Config

from .adapters.dynamo_catalog import DynamoCatalog
from .adapters.dynamo_sessions import DynamoSessionStore
from .adapters.dynamo_tokens import DynamoTokenStore
from .adapters.s3_objects import S3ObjectStore
from .adapters.s3_staging import S3Staging
from .domain.clock import utcnow
from .domain.inspection.limits import Limits
from .domain.ports import Clock
from .services.downloads import Downloads
from .services.file_uploads import FileUploads, UploadPolicy
from .services.index_reader import IndexReader
from .services.legacy import LegacyUploads
from .services.moderation import Moderation
from .services.publishing import Publisher, PublishPolicy
from .services.repair import Repair
from .services.sessions import PublishingSessions, SessionPolicy
from .services.tokens import TokenService
from .services.validation import Validator
from .settings import Settings, get_settings


@dataclass(frozen=True)
class AwsClients:
    s3: Any
    dynamodb: Any
    sqs: Any


def aws_clients() -> AwsClients:
    """boto3 clients for the current environment (``AWS_ENDPOINT_URL`` points them at moto).

    Presigned S3 URLs must be SigV4, which boto3 uses only when asked.
    """
    session = boto3.session.Session()
    retries = Config(retries={"mode": "standard", "max_attempts": 5})
    s3_config = retries.merge(Config(signature_version="s3v4"))
    return AwsClients(
        s3=session.client("s3", config=s3_config),
        dynamodb=session.client("dynamodb", config=retries),
        sqs=session.client("sqs", config=retries),
    )


@dataclass(frozen=True)
class Container:
    settings: Settings
    clients: AwsClients
    tokens: TokenService
    index: IndexReader
    sessions: PublishingSessions
    files: FileUploads
    validator: Validator
    publisher: Publisher
    catalog: DynamoCatalog
    objects: S3ObjectStore
    downloads: Downloads
    moderation: Moderation
    legacy: LegacyUploads
    repair: Repair


def limits_of(settings: Settings) -> Limits:
    return Limits(
        max_members=settings.max_archive_members,
        max_uncompressed_bytes=settings.max_uncompressed_bytes,
        max_compression_ratio=settings.max_compression_ratio,
        ratio_floor_bytes=settings.compression_ratio_floor_bytes,
        max_metadata_bytes=settings.max_metadata_bytes,
        enforce_record=settings.enforce_record,
        allow_local_versions=settings.allow_local_versions,
    )


def build(settings: Settings, clients: AwsClients, clock: Clock = utcnow) -> Container:
    token_store = DynamoTokenStore(clients.dynamodb, settings.table_name)
    objects = S3ObjectStore(clients.s3, settings.bucket_name)
    session_store = DynamoSessionStore(clients.dynamodb, settings.table_name)
    staging = S3Staging(clients.s3, settings.bucket_name)
    catalog = DynamoCatalog(clients.dynamodb, settings.table_name)
    sessions = PublishingSessions(
        session_store,
        staging,
        clock,
        SessionPolicy(
            lifetime=timedelta(seconds=settings.session_lifetime_seconds),
            max_lifetime=timedelta(seconds=settings.session_max_lifetime_seconds),
            retention=timedelta(seconds=settings.session_retention_seconds),
            allow_local_versions=settings.allow_local_versions,
        ),
    )
    publisher = Publisher(
        sessions,
        session_store,
        catalog,
        staging,
        objects,
        clock,
        PublishPolicy(
            final_attempt=settings.publish_attempts,
            retention=timedelta(seconds=settings.session_retention_seconds),
        ),
    )
    validator = Validator(session_store, staging, clock, limits_of(settings))
    return Container(
        settings=settings,
        clients=clients,
        tokens=TokenService(
            token_store,
            clock,
            touch_seconds=settings.token_touch_seconds,
            retention_days=settings.token_retention_days,
        ),
        index=IndexReader(objects),
        sessions=sessions,
        files=FileUploads(
            sessions,
            session_store,
            staging,
            clock,
            UploadPolicy(
                inline_limit=settings.inline_limit_bytes,
                max_file_bytes=settings.max_file_bytes,
                part_url_seconds=settings.part_url_seconds,
                default_part_size=settings.default_part_size,
                allow_local_versions=settings.allow_local_versions,
            ),
        ),
        validator=validator,
        publisher=publisher,
        catalog=catalog,
        objects=objects,
        downloads=Downloads(
            catalog,
            session_store,
            objects,
            publisher,
            clock,
            expires=settings.download_url_seconds,
        ),
        moderation=Moderation(catalog, publisher),
        legacy=LegacyUploads(
            sessions,
            session_store,
            catalog,
            staging,
            objects,
            publisher,
            clock,
            inline_limit=settings.inline_limit_bytes,
            limits=limits_of(settings),
        ),
        repair=Repair(
            session_store,
            staging,
            validator,
            publisher,
            clock,
            grace=timedelta(seconds=settings.repair_after_seconds),
        ),
    )


_lock = threading.Lock()
_current: Container | None = None


def container() -> Container:
    """The process's container, built on first use (a Lambda builds it once per sandbox)."""
    global _current
    with _lock:
        if _current is None:
            _current = build(get_settings(), aws_clients())
        return _current


def use(replacement: Container | None) -> None:
    """Install a container (tests), or ``None`` to build afresh on next use."""
    global _current
    with _lock:
        _current = replacement
