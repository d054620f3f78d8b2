"""What the services count, through the ``Metrics`` port (the fake records every point)."""

from __future__ import annotations

import pytest

from chalicelib import wiring
from chalicelib.domain.errors import InvalidRequestError
from chalicelib.domain.inspection.rules import RULES, refusal_reasons
from chalicelib.settings import Settings
from tests.builders import metadata_text, wheel_bytes
from tests.fakes import RecordedMetrics, memory_stores
from tests.services.conftest import UPLOADER, WHEEL, World


@pytest.fixture
def metrics() -> RecordedMetrics:
    return RecordedMetrics()


@pytest.fixture
def world(clock, metrics) -> World:
    stores, memory, bucket = memory_stores()
    settings = Settings(table_name="unused", bucket_name="unused", queue_arn="unused")
    return World(
        wiring.build(settings, clock=clock, stores=stores, metrics=metrics), memory, bucket
    )


def test_a_refused_file_counts_once_per_rule_code(world, metrics):
    token = world.session()
    world.upload(token, WHEEL, wheel_bytes(metadata=metadata_text("other-name", "1.0")))
    reasons = [dims["reason"] for _, _, _, dims in metrics.named("FilesRefused")]
    assert reasons and len(reasons) == len(set(reasons))
    assert set(reasons) <= set(RULES)
    assert metrics.named("FilesCompleted") == []


def test_a_refused_transfer_counts_as_transfer(world, metrics):
    token = world.session()
    view, _ = world.add(token)
    with pytest.raises(InvalidRequestError):
        world.wharf.files.complete(UPLOADER, token, view.file.file_id)
    assert metrics.named("FilesRefused") == [("FilesRefused", 1, "Count", {"reason": "transfer"})]
    assert metrics.named("BytesReceived") == []


def test_publish_latency_is_the_time_since_the_request(world, metrics, clock):
    token = world.session()
    world.upload(token)
    world.wharf.publisher.request(UPLOADER, token)
    clock.advance(seconds=3)
    world.deliver()
    assert metrics.named("Publishes") == [("Publishes", 1, "Count", {})]
    assert metrics.named("PublishLatency") == [("PublishLatency", 3000.0, "Milliseconds", {})]


def test_the_sweeper_counts_only_what_it_repaired(world, metrics, clock):
    assert world.wharf.repair.run() == {"files": 0, "publishes": 0, "renders": 0}
    assert metrics.named("SweeperRepairs") == []
    token = world.session()
    view, data = world.add(token)
    world.send(token, view.file.file_id, data)
    world.wharf.files.complete(UPLOADER, token, view.file.file_id)
    world.bucket.take_events()  # lost
    clock.advance(minutes=11)
    world.wharf.repair.run()
    assert metrics.named("SweeperRepairs") == [("SweeperRepairs", 1, "Count", {"kind": "files"})]


def test_refusal_reasons_are_rule_codes_or_unclassified():
    notices = ["wheel-record: a", "wheel-record: b", "the file could not be inspected"]
    assert refusal_reasons(notices) == ["wheel-record", "unclassified"]
    assert refusal_reasons([]) == ["unclassified"]


def test_the_queue_arn_is_required():
    with pytest.raises(ValueError, match="queue_arn"):
        Settings(table_name="t", bucket_name="b")  # type: ignore[call-arg]
