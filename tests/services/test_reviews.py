"""The review step inside processing, on the fakes: hold, announce, verdicts, timeouts."""

from __future__ import annotations

import pytest

from chalicelib import wiring
from chalicelib.domain.errors import (
    FileNotPendingError,
    FilesNotCompletedError,
    InvalidRequestError,
    NotFoundError,
    ReviewClosedError,
)
from chalicelib.domain.layout import uploaded_key
from chalicelib.domain.lifecycle import FILES, FileStatus
from chalicelib.domain.review import Decision, ReviewPolicy, ReviewState
from chalicelib.settings import Settings
from tests.builders import wheel_bytes
from tests.fakes import memory_stores
from tests.services.conftest import UPLOADER, WHEEL, World


@pytest.fixture
def reviewed(clock) -> World:
    stores, memory, bucket = memory_stores()
    settings = Settings(
        queue_arn="arn:aws:sqs:us-east-1:000000000000:wharf",
        table_name="unused",
        bucket_name="unused",
        reviewers="scanner,human",
        review_timeout_seconds=600,
    )
    return World(wiring.build(settings, clock=clock, stores=stores), memory, bucket)


def announcements(world: World) -> list[dict]:
    return world.wharf.stores.review_queue.messages  # type: ignore[attr-defined]


def file_of(world: World, token: str, file_id: str):
    return world.wharf.stores.sessions.get_file(token, file_id)


def test_a_validated_file_waits_for_review_and_reads_processing(reviewed):
    token = reviewed.session()
    file_id = reviewed.upload(token)
    record = file_of(reviewed, token, file_id)
    assert record.status is FileStatus.REVIEWING
    assert FILES.shown(record.status) == "processing"
    view = reviewed.wharf.files.view(UPLOADER, token, file_id)
    assert FILES.shown(view.status) == "processing"
    [message] = announcements(reviewed)
    assert message["review_id"] == record.review_id
    assert message["filename"] == WHEEL
    assert message["project"] == "acme-tools"
    assert message["digests"]["sha256"] == record.digests["sha256"]
    # The bytes are stored in place (files/u/<file id>/), a key without the session token.
    assert message["download_url"].startswith("memory://bucket/files/u/")
    assert token not in message["download_url"]
    assert "Name: acme-tools" in message["metadata"]
    assert message["reviewers"] == ["scanner", "human"]
    # The session token is a preview credential: no announcement carries it.
    plain = {k: v for k, v in message.items() if k != "metadata_url"}
    assert token not in str(plain)


def test_a_session_cannot_publish_nor_delete_a_file_under_review(reviewed):
    token = reviewed.session()
    file_id = reviewed.upload(token)
    with pytest.raises(FilesNotCompletedError) as refused:
        reviewed.wharf.publisher.request(UPLOADER, token)
    assert f"{WHEEL} is processing" in refused.value.detail
    with pytest.raises(FileNotPendingError):
        reviewed.wharf.files.cancel(UPLOADER, token, file_id)
    assert file_of(reviewed, token, file_id).status is FileStatus.REVIEWING


def test_approval_needs_every_reviewer_then_the_session_publishes(reviewed):
    token = reviewed.session()
    file_id = reviewed.upload(token)
    review_id = file_of(reviewed, token, file_id).review_id
    reviews = reviewed.wharf.reviews
    after_one = reviews.give_verdict(review_id, "scanner", Decision.APPROVE, None)
    assert after_one.state is ReviewState.OPEN
    assert file_of(reviewed, token, file_id).status is FileStatus.REVIEWING
    after_both = reviews.give_verdict(review_id, "human", Decision.APPROVE, None)
    assert after_both.state is ReviewState.APPROVED
    assert file_of(reviewed, token, file_id).status is FileStatus.COMPLETED
    reviewed.wharf.publisher.request(UPLOADER, token)
    reviewed.deliver()
    assert reviewed.status(token) == "published"


def test_one_rejection_rejects_with_its_reason_and_quarantines_the_bytes(reviewed):
    token = reviewed.session()
    data = wheel_bytes()
    file_id = reviewed.upload(token, data=data)
    record = file_of(reviewed, token, file_id)
    reviewed.wharf.reviews.give_verdict(
        record.review_id, "scanner", Decision.REJECT, "member evil.py matches rule x"
    )
    after = file_of(reviewed, token, file_id)
    assert after.status is FileStatus.ERROR
    assert after.notices == ("review: rejected by scanner: member evil.py matches rule x",)
    objects = reviewed.bucket.objects
    assert objects[after.quarantine_key][0] == data
    assert after.quarantine_key.startswith("quarantine/acme-tools/")
    assert not [k for k in objects if k.startswith(f"staging/{token}/{file_id}/")]
    # Nothing of it can be downloaded from the stage.
    with pytest.raises(NotFoundError):
        reviewed.wharf.downloads.staged(token, WHEEL)
    described = reviewed.wharf.reviews.describe(record.review_id)
    assert described["state"] == "rejected"
    assert described["quarantine_url"].startswith("memory://bucket/quarantine/")
    # The session stays editable: the file is deleted and the release can go on without it.
    reviewed.wharf.files.cancel(UPLOADER, token, file_id)
    assert objects[after.quarantine_key][0] == data


def test_verdicts_are_idempotent_and_a_closed_review_refuses_others(reviewed):
    token = reviewed.session()
    file_id = reviewed.upload(token)
    review_id = file_of(reviewed, token, file_id).review_id
    reviews = reviewed.wharf.reviews
    reviews.give_verdict(review_id, "scanner", Decision.REJECT, "bad")
    again = reviews.give_verdict(review_id, "scanner", Decision.REJECT, "bad")
    assert again.state is ReviewState.REJECTED
    with pytest.raises(ReviewClosedError):
        reviews.give_verdict(review_id, "human", Decision.APPROVE, None)
    with pytest.raises(ReviewClosedError):
        reviews.give_verdict(review_id, "scanner", Decision.APPROVE, None)
    assert file_of(reviewed, token, file_id).status is FileStatus.ERROR


def test_bad_verdicts_are_refused_and_change_nothing(reviewed):
    token = reviewed.session()
    file_id = reviewed.upload(token)
    review_id = file_of(reviewed, token, file_id).review_id
    reviews = reviewed.wharf.reviews
    with pytest.raises(InvalidRequestError):
        reviews.give_verdict(review_id, "stranger", Decision.APPROVE, None)
    with pytest.raises(InvalidRequestError):
        reviews.give_verdict(review_id, "scanner", Decision.REJECT, "  ")
    assert reviews.get(review_id).verdicts == {}
    assert file_of(reviewed, token, file_id).status is FileStatus.REVIEWING


@pytest.mark.parametrize(
    ("on_timeout", "status"),
    [(Decision.APPROVE, FileStatus.COMPLETED), (Decision.REJECT, FileStatus.ERROR)],
)
def test_the_project_timeout_policy_decides_silence(reviewed, clock, on_timeout, status):
    reviewed.wharf.reviews.set_policy(
        "acme-tools", ReviewPolicy(on_timeout=on_timeout, timeout_seconds=120)
    )
    token = reviewed.session()
    file_id = reviewed.upload(token)
    review_id = file_of(reviewed, token, file_id).review_id
    reviewed.wharf.reviews.give_verdict(review_id, "scanner", Decision.APPROVE, None)
    clock.advance(seconds=119)
    assert reviewed.wharf.reviews.expire_due() == 0
    assert file_of(reviewed, token, file_id).status is FileStatus.REVIEWING
    clock.advance(seconds=2)
    assert reviewed.wharf.reviews.expire_due() == 1
    after = file_of(reviewed, token, file_id)
    assert after.status is status
    verb = "approved" if on_timeout is Decision.APPROVE else "rejected"
    assert after.notices[-1] == (
        f"review: {verb} by the project's timeout policy; no verdict from human"
    )
    with pytest.raises(ReviewClosedError):
        reviewed.wharf.reviews.give_verdict(review_id, "human", Decision.APPROVE, None)
    assert reviewed.wharf.reviews.expire_due() == 0


def test_the_default_policy_comes_from_settings(reviewed, clock):
    token = reviewed.session()
    file_id = reviewed.upload(token)
    clock.advance(seconds=601)
    reviewed.wharf.reviews.expire_due()
    assert file_of(reviewed, token, file_id).status is FileStatus.ERROR  # reject by default


def test_a_canceled_session_withdraws_its_reviews(reviewed):
    token = reviewed.session()
    file_id = reviewed.upload(token)
    review_id = file_of(reviewed, token, file_id).review_id
    reviewed.wharf.sessions.cancel(UPLOADER, token)
    with pytest.raises(ReviewClosedError):
        reviewed.wharf.reviews.give_verdict(review_id, "scanner", Decision.APPROVE, None)
    assert reviewed.wharf.reviews.get(review_id).state is ReviewState.WITHDRAWN


def test_a_redelivered_event_announces_again_but_opens_no_second_review(reviewed):
    token = reviewed.session()
    file_id = reviewed.upload(token)
    record = file_of(reviewed, token, file_id)
    # The event that starts validation is the upload marker's (bytes are stored in place).
    marker = uploaded_key(token, file_id)
    outcome = reviewed.wharf.validator.object_arrived(marker, record.size)
    assert outcome == "ignored: the file is reviewing"
    assert len(announcements(reviewed)) == 1
    again = reviewed.wharf.validator.object_arrived(marker, record.size, redelivered=True)
    assert "announced again" in again
    first, second = announcements(reviewed)
    assert first["review_id"] == second["review_id"]
    assert len(reviewed.wharf.stores.reviews.reviews) == 1  # type: ignore[attr-defined]


def test_without_reviewers_nothing_changes(world):
    token = world.session()
    file_id = world.upload(token)
    assert world.wharf.stores.sessions.get_file(token, file_id).status is FileStatus.COMPLETED
    assert world.wharf.stores.review_queue.messages == []  # type: ignore[attr-defined]


# --- the legacy API: the request waits for the review ----------------------------------------


class Reviewer:
    """Stands in for the reviewer and the event pipeline while a legacy request waits:
    each ``sleep`` delivers pending S3 events, maybe decides, and moves the fake clock."""

    def __init__(self, world: World, clock, decision: Decision | None, reason=None) -> None:
        self.world, self.clock = world, clock
        self.decision, self.reason = decision, reason
        self.sleeps = 0

    def __call__(self, seconds: float) -> None:
        self.sleeps += 1
        self.world.deliver()
        for review in list(self.world.wharf.stores.reviews.reviews.values()):  # type: ignore[attr-defined]
            if self.decision is not None and review.state is ReviewState.OPEN:
                for name in review.reviewers:
                    self.world.wharf.reviews.give_verdict(
                        review.review_id, name, self.decision, self.reason
                    )
        self.world.deliver()
        self.clock.advance(seconds=seconds)


def legacy_world(clock, decision, reason=None) -> tuple[World, Reviewer]:
    stores, memory, bucket = memory_stores()
    settings = Settings(
        queue_arn="arn:aws:sqs:us-east-1:000000000000:wharf",
        table_name="unused",
        bucket_name="unused",
        reviewers="scanner",
        legacy_review_wait_seconds=5,
    )
    world = World(wiring.build(settings, clock=clock, stores=stores), memory, bucket)
    reviewer = Reviewer(world, clock, decision, reason)
    world.wharf = wiring.build(settings, clock=clock, stores=stores, sleep=reviewer)
    return world, reviewer


def legacy_upload(world: World, data: bytes | None = None, filename: str = WHEEL):
    from chalicelib.services.legacy import LegacyUpload

    fields = {":action": ["file_upload"], "protocol_version": ["1"], "name": ["acme-tools"]}
    upload = LegacyUpload(fields=fields, filename=filename, content=data or wheel_bytes())
    return world.wharf.legacy.upload(UPLOADER, upload)


def published(world: World) -> list[str]:
    return [e.filename for e in world.wharf.stores.catalog.committed_files("acme-tools")]


def test_a_legacy_upload_waits_for_approval_and_is_published(clock):
    world, _reviewer = legacy_world(clock, Decision.APPROVE)
    result = legacy_upload(world)
    assert result.published and not result.pending
    assert published(world) == [WHEEL]
    [message] = announcements(world)
    assert message["filename"] == WHEEL
    # A retry of the same upload is answered as already there.
    assert legacy_upload(world).unchanged


def test_a_legacy_upload_rejected_in_review_is_refused_with_the_reason(clock):
    from chalicelib.services.legacy import ReviewRejectedError

    world, _ = legacy_world(clock, Decision.REJECT, "contains the marker")
    with pytest.raises(ReviewRejectedError) as refused:
        legacy_upload(world)
    assert "rejected by scanner: contains the marker" in refused.value.detail
    assert published(world) == []


def test_a_legacy_upload_left_unreviewed_is_accepted_for_processing(clock):
    world, reviewer = legacy_world(clock, None)
    result = legacy_upload(world)
    assert result.pending and not result.published
    assert reviewer.sleeps == 20  # 5 s in steps of 0.25 s: bounded
    assert published(world) == []
    # The retry finds the same file still waiting: no second file, no second review.
    assert legacy_upload(world).pending
    assert len(world.wharf.stores.reviews.reviews) == 1  # type: ignore[attr-defined]
    # The verdict comes later: the release is published without the client.
    reviewer.decision = Decision.APPROVE
    reviewer(0)
    assert published(world) == [WHEEL]


def test_reviewers_need_a_queue_and_plain_names():
    from pydantic import ValidationError

    from chalicelib.domain.review import parse_reviewers
    from chalicelib.settings import settings_from

    settings = Settings(
        queue_arn="arn:aws:sqs:us-east-1:000000000000:wharf",
        table_name="t",
        bucket_name="b",
        reviewers="example",
    )
    nothing = wiring.AwsClients(s3=None, dynamodb=None, sqs=None)
    with pytest.raises(ValueError, match="WHARF_REVIEW_QUEUE_URL"):
        wiring.AwsStores(settings, nothing)
    queued = settings.model_copy(update={"review_queue_url": "https://sqs.example/q"})
    assert wiring.AwsStores(queued, nothing).review_queue is not None
    assert parse_reviewers(" example, scanner ,example,") == ("example", "scanner")
    assert parse_reviewers("") == ()
    with pytest.raises(ValueError):
        parse_reviewers("-bad")
    environ = {"WHARF_TABLE_NAME": "t", "WHARF_BUCKET_NAME": "b"}
    with pytest.raises(ValidationError):
        settings_from({**environ, "WHARF_REVIEWERS": "Example;rm"})
    with pytest.raises(ValidationError):
        settings_from({**environ, "WHARF_REVIEW_ON_TIMEOUT": "ignore"})


class FailsOnce:
    """Wraps a port so that its first call of ``method`` raises (an AWS call failing)."""

    def __init__(self, inner, method: str) -> None:
        self._inner, self._method, self.failed = inner, method, False

    def __getattr__(self, name):
        attribute = getattr(self._inner, name)
        if name != self._method or self.failed:
            return attribute

        def fail(*args, **kwargs):
            self.failed = True
            raise RuntimeError(f"{name} failed")

        return fail


def flaky_world(clock, port: str, method: str) -> World:
    import dataclasses

    stores, memory, bucket = memory_stores()
    stores = dataclasses.replace(stores, **{port: FailsOnce(getattr(stores, port), method)})
    settings = Settings(
        queue_arn="arn:aws:sqs:us-east-1:000000000000:wharf",
        table_name="unused",
        bucket_name="unused",
        reviewers="scanner",
    )
    return World(wiring.build(settings, clock=clock, stores=stores), memory, bucket)


def test_an_announcement_lost_to_a_failure_is_sent_on_the_redelivery(clock):
    from chalicelib.events.storage import handle_staged_object

    world = flaky_world(clock, "review_queue", "announce")
    token = world.session()
    view, data = world.add(token)
    world.send(token, view.file.file_id, data)
    world.wharf.files.complete(UPLOADER, token, view.file.file_id)
    [(key, size)] = world.bucket.take_events()
    with pytest.raises(RuntimeError):
        handle_staged_object(world.wharf, key, size, attempt=1)
    assert file_of(world, token, view.file.file_id).status is FileStatus.REVIEWING
    assert "announced again" in handle_staged_object(world.wharf, key, size, attempt=2)
    [message] = world.wharf.stores.review_queue._inner.messages  # type: ignore[attr-defined]
    assert message["filename"] == WHEEL


def test_a_verdict_cut_short_by_a_failure_settles_when_repeated(clock):
    world = flaky_world(clock, "objects", "copy")
    token = world.session()
    file_id = world.upload(token)
    review_id = file_of(world, token, file_id).review_id
    with pytest.raises(RuntimeError):
        world.wharf.reviews.give_verdict(review_id, "scanner", Decision.REJECT, "bad")
    assert file_of(world, token, file_id).status is FileStatus.REVIEWING
    settled = world.wharf.reviews.give_verdict(review_id, "scanner", Decision.REJECT, "bad")
    assert settled.state is ReviewState.REJECTED
    assert file_of(world, token, file_id).status is FileStatus.ERROR


def test_a_verdict_cut_short_is_settled_by_the_sweeper_at_the_deadline(clock):
    world = flaky_world(clock, "objects", "copy")
    token = world.session()
    file_id = world.upload(token)
    review_id = file_of(world, token, file_id).review_id
    with pytest.raises(RuntimeError):
        world.wharf.reviews.give_verdict(review_id, "scanner", Decision.REJECT, "bad")
    clock.advance(hours=2)
    world.wharf.reviews.expire_due()
    after = file_of(world, token, file_id)
    # The recorded verdict decides, not the timeout policy.
    assert after.status is FileStatus.ERROR
    assert after.notices == ("review: rejected by scanner: bad",)


def test_a_legacy_release_gains_files_while_one_waits_and_a_staged_session_is_left_alone(clock):
    from chalicelib.domain.errors import MixedUploadPathsError
    from chalicelib.services.legacy import LegacyUpload
    from tests.builders import metadata_text, sdist_bytes

    world, reviewer = legacy_world(clock, None)
    assert legacy_upload(world).pending
    sdist = "acme_tools-1.0.tar.gz"
    assert legacy_upload(world, sdist_bytes("acme_tools", "1.0"), sdist).pending
    sessions = {f.session_token for f in world.memory.files.values()}
    assert len(sessions) == 1  # both files wait in one session
    reviewer.decision = Decision.APPROVE
    reviewer(0)
    assert sorted(published(world)) == sorted([sdist, WHEEL])

    # A release someone staged (staged=true) is theirs to publish: a plain upload is 409.
    fields = {":action": ["file_upload"], "name": ["acme-tools"], "staged": ["true"]}
    staged_wheel = "acme_tools-2.0-py3-none-any.whl"
    data = wheel_bytes(version="2.0", metadata=metadata_text(version="2.0"))
    world.wharf.legacy.upload(UPLOADER, LegacyUpload(fields, staged_wheel, data))
    other = wheel_bytes(version="2.0", metadata=metadata_text(version="2.0"), files={"a": b"b"})
    with pytest.raises(MixedUploadPathsError):
        legacy_upload(world, other, "acme_tools-2.0-py3-none-win_amd64.whl")


def test_a_staged_legacy_upload_is_held_for_review_and_a_retry_adds_nothing(clock):
    from chalicelib.services.legacy import LegacyUpload

    world, _ = legacy_world(clock, None)
    fields = {":action": ["file_upload"], "name": ["acme-tools"], "staged": ["true"]}
    upload = LegacyUpload(fields, WHEEL, wheel_bytes())
    first = world.wharf.legacy.upload(UPLOADER, upload)
    [entry] = first.staged.files
    assert FILES.shown(entry.status) == "processing"
    again = world.wharf.legacy.upload(UPLOADER, upload)
    assert len(again.staged.files) == 1
    [review] = world.wharf.stores.reviews.reviews.values()  # type: ignore[attr-defined]
    assert not review.publish_when_approved
    world.wharf.reviews.give_verdict(review.review_id, "scanner", Decision.APPROVE, None)
    assert published(world) == []  # a staged release waits for its publisher


def test_an_announcement_carries_the_verified_provenance(reviewed):
    token = reviewed.session()
    file_id = reviewed.upload(token)
    record = file_of(reviewed, token, file_id)
    review = reviewed.wharf.stores.reviews.get_review(record.review_id)
    plain = reviewed.wharf.reviews.announcement(review, record)
    assert plain["provenance"] is None
    attested = record.model_copy(
        update={
            "provenance_key": "staging-provenance/x/provenance.json",
            "provenance_publisher": '{"kind":"GitHub","repository":"acme/tools"}',
        }
    )
    shown = reviewed.wharf.reviews.announcement(review, attested)["provenance"]
    assert shown["publisher"] == {"kind": "GitHub", "repository": "acme/tools"}
    assert shown["url"].startswith("memory://bucket/staging-provenance/x/provenance.json")
