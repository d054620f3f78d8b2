"""Shared fixtures: moto in-process with the template's own resources, and the app's container."""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

# Before anything imports boto3 or the app: never reach a real AWS account.
for _name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
    os.environ.pop(_name, None)
os.environ.update(
    AWS_ACCESS_KEY_ID="testing",
    AWS_SECRET_ACCESS_KEY="testing",
    AWS_DEFAULT_REGION="us-east-1",
    WHARF_TABLE_NAME="wharf-test-state",
    WHARF_BUCKET_NAME="wharf-test-packages",
    WHARF_QUEUE_ARN="arn:aws:sqs:us-east-1:123456789012:wharf-test-events",
)

from moto import mock_aws  # noqa: E402

from chalicelib import wiring  # noqa: E402
from chalicelib.domain.tokens import Role, TokenRequest  # noqa: E402
from chalicelib.settings import Settings  # noqa: E402
from wharf_stack import gateway_fidelity, moto_fidelity, moto_speed, moto_storage  # noqa: E402
from wharf_stack.resources import LocalResources, create_resources  # noqa: E402

moto_fidelity.apply()
moto_speed.apply()
moto_storage.apply()
gateway_fidelity.apply()


class FakeClock:
    """A clock tests move by hand."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class AwsStack:
    clients: wiring.AwsClients
    resources: LocalResources


@pytest.fixture(scope="session")
def boto_session():
    """One botocore session for the run: it caches the service models every client loads
    (about half a second a test otherwise). Each test still gets clients of its own."""
    import botocore.session

    return botocore.session.get_session()


@dataclass
class MemoryWorld:
    """The fakes' stand-in for ``AwsStack``: every port in memory, and the bucket's events."""

    stores: wiring.Stores
    memory: object
    bucket: object


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "memory: run on the in-memory fakes (contract-tested against moto) instead of moto",
    )
    config.addinivalue_line(
        "markers", "moto: run on moto even in a module marked memory (it reads AWS itself)"
    )


@pytest.fixture
def aws(request, boto_session) -> Iterator[AwsStack | MemoryWorld]:
    """moto with the bucket, table and queues that infra/template.yaml defines; for a test
    marked ``memory``, the in-memory fakes instead."""
    marks = {m.name for m in request.node.iter_markers()}
    if "memory" in marks and "moto" not in marks:
        from tests.fakes import memory_stores

        yield MemoryWorld(*memory_stores())
        return
    with mock_aws():
        clients = wiring.aws_clients(boto_session)
        resources = create_resources(clients.s3, clients.dynamodb, clients.sqs, prefix="wharf-test")
        yield AwsStack(clients=clients, resources=resources)


# Far from any real date: code that mixes the wall clock with the injected one fails
# today, not on the day the two happen to drift apart.
EPOCH = datetime(2001, 1, 1, 12, 0, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(EPOCH)


@pytest.fixture
def wharf(aws: AwsStack, clock: FakeClock) -> Iterator[wiring.Container]:
    """The app's container on moto, installed where the app looks it up."""
    settings = Settings(
        table_name="wharf-test-state",
        bucket_name="wharf-test-packages",
        queue_arn=os.environ["WHARF_QUEUE_ARN"],
    )
    if not isinstance(aws, MemoryWorld):
        settings = settings.model_copy(
            update={
                "table_name": aws.resources.table,
                "bucket_name": aws.resources.bucket,
                "queue_arn": aws.resources.queue_arn,
            }
        )
    if isinstance(aws, MemoryWorld):
        container = wiring.build(settings, clock=clock, stores=aws.stores)
    else:
        container = wiring.build(settings, aws.clients, clock=clock)
    wiring.use(container)
    yield container
    wiring.use(None)


@pytest.fixture
def rebuild(wharf: wiring.Container, aws: AwsStack, clock: FakeClock):
    """Build the container again through the front door with changed settings (and, when
    given, other stores), install it where the app looks it up, and return it."""

    def _rebuild(stores: wiring.Stores | None = None, **settings: object) -> wiring.Container:
        changed = wharf.settings.model_copy(update=settings)
        if isinstance(aws, MemoryWorld):
            stores = stores or aws.stores
        container = wiring.build(changed, getattr(aws, "clients", None), clock=clock, stores=stores)
        wiring.use(container)
        return container

    return _rebuild


@pytest.fixture
def app_client(wharf: wiring.Container):
    from chalice.test import Client

    from app import app

    with Client(app) as client:
        yield client


@pytest.fixture
def http(app_client):
    return app_client.http


def basic(secret: str, user: str = "__token__") -> dict[str, str]:
    value = base64.b64encode(f"{user}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {value}"}


@pytest.fixture
def issue(wharf: wiring.Container):
    """Issue a token through the service and return its secret."""

    def _issue(role: str = "read", projects: tuple[str, ...] = (), **kwargs) -> str:
        request = TokenRequest(role=Role(role), projects=list(projects), **kwargs)
        return wharf.tokens.issue(request).secret

    return _issue


@pytest.fixture
def admin(issue) -> str:
    return issue("admin")


@pytest.fixture
def log_lines():
    """The app's log lines as Lambda would emit them (JSON, with appended keys)."""
    import io
    import logging

    from chalicelib.observability import logger

    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(logger.registered_formatter)
    logging.getLogger(logger.name).addHandler(handler)
    yield buffer.getvalue
    logging.getLogger(logger.name).removeHandler(handler)
