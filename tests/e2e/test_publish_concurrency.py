"""20 releases of one project published at once against the moto server: the index ends
up exactly what the table says, whatever order the publishers ran in."""

from __future__ import annotations

import json
import threading

import boto3
import pytest
import requests

from chalicelib import wiring
from chalicelib.settings import Settings
from tests.builders import metadata_text, wheel_bytes
from tests.e2e.conftest import run_wharf
from tests.e2e.test_install import Publisher

pytestmark = pytest.mark.e2e
RELEASES = 20


def test_twenty_parallel_publishes_converge(stack):
    created = run_wharf(stack, "token", "create", "--role", "upload", "--project", "e2e-race")
    publisher = Publisher(stack, created.stdout.splitlines()[1])
    sessions = []
    for minor in range(RELEASES):
        version = f"3.{minor}"
        data = wheel_bytes("e2e_race", version, metadata=metadata_text("e2e-race", version))
        sessions.append(
            publisher.stage("e2e-race", version, {f"e2e_race-{version}-py3-none-any.whl": data})
        )

    # In-process publishers against the same moto server race the stack's own workers.
    kwargs = {
        "endpoint_url": stack.moto_url,
        "region_name": "us-east-1",
        "aws_access_key_id": "wharf-local",
        "aws_secret_access_key": "wharf-local",
    }
    clients = wiring.AwsClients(
        s3=boto3.client("s3", **kwargs),
        dynamodb=boto3.client("dynamodb", **kwargs),
        sqs=boto3.client("sqs", **kwargs),
    )
    settings = Settings(
        table_name="wharf-local-state",
        bucket_name="wharf-local-packages",
        queue_arn="arn:aws:sqs:us-east-1:123456789012:wharf-local-events",
    )
    local = wiring.build(settings, clients)
    barrier = threading.Barrier(RELEASES)
    errors: list[BaseException] = []

    def publish(session: dict) -> None:
        barrier.wait()
        try:
            reply = publisher.call(
                "POST", session["links"]["publish"], {"meta": {"api-version": "2.0"}}
            )
            assert reply.status_code == 202, reply.text
            local.publisher.run(session["session-token"])
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=publish, args=(s,)) for s in sessions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    for session in sessions:
        assert (
            publisher.wait(session["links"]["session"], {"published", "error"})["status"]
            == "published"
        )

    reader = json.loads(run_wharf(stack, "token", "create", "--role", "read", "--json").stdout)
    page = requests.get(
        f"{stack.url}/simple/e2e-race/",
        auth=("__token__", reader["token"]),
        headers={"Accept": "application/vnd.pypi.simple.v1+json"},
        timeout=30,
    ).json()
    table = {entry.filename for entry in local.stores.catalog.committed_files("e2e-race")}
    assert len(table) == RELEASES
    assert {f["filename"] for f in page["files"]} == table
    assert page["meta"]["_last-serial"] == local.stores.catalog.project("e2e-race").serial
