"""The only place AWS clients are created and services are assembled; tests swap them here."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import boto3
from botocore.config import Config

from .adapters.dynamo_catalog import DynamoCatalog
from .adapters.dynamo_filenames import DynamoFilenameRegistry
from .adapters.dynamo_sessions import DynamoSessionRepository
from .adapters.dynamo_tokens import DynamoTokenStore
from .adapters.powertools_metrics import PowertoolsMetrics
from .adapters.s3_objects import S3ObjectStore
from .adapters.s3_staging import S3Staging
from .domain.clock import utcnow
from .domain.inspection.limits import Limits
from .domain.ports import (
    Catalog,
    Clock,
    FilenameRegistry,
    Metrics,
    ObjectStore,
    SessionRepository,
    StagingStorage,
    TokenStore,
)
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


def aws_clients(session: boto3.session.Session | None = None) -> AwsClients:
    """boto3 clients for the current environment (``AWS_ENDPOINT_URL`` points them at moto).

    Presigned S3 URLs must be SigV4, which boto3 uses only when asked. A session passed in
    lends its loaded service models (tests build many clients; loading is the slow part).
    """
    session = session or boto3.session.Session()
    retries = Config(retries={"mode": "standard", "max_attempts": 5})
    s3_config = retries.merge(Config(signature_version="s3v4"))
    return AwsClients(
        s3=session.client("s3", config=s3_config),
        dynamodb=session.client("dynamodb", config=retries),
        sqs=session.client("sqs", config=retries),
    )


@dataclass(frozen=True)
class Stores:
    """One implementation of every port: DynamoDB and S3 (``aws_stores``), or the in-memory
    fakes the service tests build (tests/fakes.py)."""

    sessions: SessionRepository
    filenames: FilenameRegistry
    catalog: Catalog
    tokens: TokenStore
    objects: ObjectStore
    staging: StagingStorage


def aws_stores(settings: Settings, clients: AwsClients) -> Stores:
    dynamodb, table = clients.dynamodb, settings.table_name
    return Stores(
        sessions=DynamoSessionRepository(dynamodb, table),
        filenames=DynamoFilenameRegistry(dynamodb, table),
        catalog=DynamoCatalog(dynamodb, table),
        tokens=DynamoTokenStore(dynamodb, table),
        objects=S3ObjectStore(clients.s3, settings.bucket_name),
        staging=S3Staging(clients.s3, settings.bucket_name),
    )


@dataclass(frozen=True)
class Container:
    settings: Settings
    stores: Stores
    tokens: TokenService
    index: IndexReader
    sessions: PublishingSessions
    files: FileUploads
    validator: Validator
    publisher: Publisher
    downloads: Downloads
    moderation: Moderation
    legacy: LegacyUploads
    repair: Repair
    metrics: Metrics


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


def build(
    settings: Settings,
    clients: AwsClients | None = None,
    clock: Clock = utcnow,
    *,
    stores: Stores | None = None,
    metrics: Metrics | None = None,
) -> Container:
    """Assemble the services over AWS (``clients``) or over the given ``stores``; metrics
    go out as CloudWatch EMF lines unless another ``Metrics`` is given."""
    if metrics is None:
        metrics = PowertoolsMetrics(settings.metrics_namespace)
    if stores is None:
        assert clients is not None, "build needs AWS clients or stores"
        stores = aws_stores(settings, clients)
    retention = timedelta(seconds=settings.session_retention_seconds)
    sessions = PublishingSessions(
        stores.sessions,
        stores.catalog,
        stores.filenames,
        stores.staging,
        clock,
        SessionPolicy(
            lifetime=timedelta(seconds=settings.session_lifetime_seconds),
            max_lifetime=timedelta(seconds=settings.session_max_lifetime_seconds),
            retention=retention,
            allow_local_versions=settings.allow_local_versions,
        ),
    )
    publisher = Publisher(
        sessions,
        stores.sessions,
        stores.catalog,
        stores.filenames,
        stores.staging,
        stores.objects,
        clock,
        PublishPolicy(final_attempt=settings.publish_attempts, retention=retention),
        metrics,
    )
    validator = Validator(stores.sessions, stores.staging, clock, limits_of(settings), metrics)
    return Container(
        settings=settings,
        stores=stores,
        tokens=TokenService(
            stores.tokens,
            clock,
            touch_seconds=settings.token_touch_seconds,
            retention_days=settings.token_retention_days,
        ),
        index=IndexReader(stores.objects),
        sessions=sessions,
        files=FileUploads(
            sessions,
            stores.sessions,
            stores.catalog,
            stores.filenames,
            stores.staging,
            clock,
            UploadPolicy(
                inline_limit=settings.inline_limit_bytes,
                max_file_bytes=settings.max_file_bytes,
                part_url_seconds=settings.part_url_seconds,
                default_part_size=settings.default_part_size,
                allow_local_versions=settings.allow_local_versions,
            ),
            metrics,
        ),
        validator=validator,
        publisher=publisher,
        downloads=Downloads(
            stores.catalog,
            stores.sessions,
            stores.objects,
            publisher,
            clock,
            expires=settings.download_url_seconds,
        ),
        moderation=Moderation(stores.catalog, publisher),
        legacy=LegacyUploads(
            sessions,
            stores.sessions,
            stores.catalog,
            stores.filenames,
            stores.staging,
            stores.objects,
            publisher,
            clock,
            inline_limit=settings.inline_limit_bytes,
            limits=limits_of(settings),
            metrics=metrics,
        ),
        repair=Repair(
            stores.sessions,
            stores.staging,
            validator,
            publisher,
            clock,
            grace=timedelta(seconds=settings.repair_after_seconds),
            metrics=metrics,
        ),
        metrics=metrics,
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
