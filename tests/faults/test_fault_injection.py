"""For every AWS call a validate, a publish, a legacy upload, a cancel and an expiry make,
fail that call — throttled, a 500, or a timeout after the call took effect — then let the
client retry, SQS redeliver and the sweeper run, and check that nothing is half done.

`make test` runs the quick profile (every call, one kind each, rotating); pass
`--fault-profile=full` for every call with every kind.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from urllib3 import encode_multipart_formdata

from tests.builders import sha256, wheel_bytes
from tests.conftest import basic
from tests.faults.harness import KINDS, Faults, check_invariants, dead_letters, drain
from tests.upload_client import META, UploadClient

MULTIPART = "vnd-wharf-s3multipart-presigned-v1"


@dataclass
class Env:
    http: Any
    app_client: Any
    aws: Any
    wharf: Any
    clock: Any
    client: UploadClient
    faults: Faults
    log: list[str] = field(default_factory=list)

    def retry(self, call: Callable[[], Any]) -> Any:
        """A client sends a request again when the answer was a 5xx (or never came)."""
        reply = call()
        return call() if reply.status >= 500 else reply

    def settle(self) -> None:
        """Redelivery and the sweeper: whatever the fault left undone gets done."""
        drain(self.app_client, self.aws)
        self.clock.advance(minutes=11)
        self.wharf.repair.run()
        drain(self.app_client, self.aws)


def wheel_name(project: str) -> str:
    return f"{project.replace('-', '_')}-1.0-py3-none-any.whl"


def _wheel(project: str) -> bytes:
    from tests.builders import metadata_text

    module = project.replace("-", "_")
    return wheel_bytes(module, "1.0", metadata=metadata_text(project, "1.0"))


class Reply:
    def __init__(self, status: int) -> None:
        self.status = status


def call(env: Env, method: str, url: str, body: Any = None) -> Any:
    """An HTTP call whose failure (an exception escaping the app) reads as a 500."""
    try:
        return env.client.call(method, url, body)
    except Exception:
        return Reply(500)


def sweep(env: Env) -> None:
    """The scheduled handler, as EventBridge invokes it."""
    event = env.app_client.events.generate_cw_event(
        source="aws.events", detail_type="Scheduled Event", detail={}, resources=[]
    )
    env.app_client.lambda_.invoke("expire_sessions", event)


# --- scenarios: set up, then the operation under faults, then recovery and expectations ---


def validate_setup(env: Env, project: str) -> dict:
    session = env.client.create(name=project)
    data = _wheel(project)
    file = env.client.add_file(session, wheel_name(project), data)
    assert env.client.send_bytes(file, data).status == 204
    return {"session": session, "file": file}


def validate_op(env: Env, state: dict) -> None:
    state["complete"] = call(env, "POST", state["file"].json["links"]["complete"], {"meta": META})
    drain(env.app_client, env.aws)


def validate_recover(env: Env, state: dict) -> set[str] | None:
    if state["complete"].status >= 500:
        call(env, "POST", state["file"].json["links"]["complete"], {"meta": META})
    env.settle()
    status = env.client.file_status(state["file"]).json["status"]
    if status != "completed":
        return None  # an error with a notice is a fair answer; stuck states are caught below
    reply = env.retry(
        lambda: call(env, "POST", state["session"].json["links"]["publish"], {"meta": META})
    )
    assert reply.status == 202, reply
    drain(env.app_client, env.aws)
    return {state["file"].json["filename"]}


def publish_setup(env: Env, project: str) -> dict:
    state = validate_setup(env, project)
    assert env.client.complete(state["file"]).status == 202
    drain(env.app_client, env.aws)
    assert env.client.file_status(state["file"]).json["status"] == "completed"
    return state


def publish_op(env: Env, state: dict) -> None:
    state["publish"] = call(env, "POST", state["session"].json["links"]["publish"], {"meta": META})
    drain(env.app_client, env.aws)


def publish_recover(env: Env, state: dict) -> set[str]:
    link = state["session"].json["links"]["publish"]
    if state["publish"].status >= 500:
        call(env, "POST", link, {"meta": META})
    env.settle()
    if env.client.session(state["session"]).json["status"] == "error":
        assert env.retry(lambda: call(env, "POST", link, {"meta": META})).status == 202
        env.settle()
    assert env.client.session(state["session"]).json["status"] == "published"
    return {state["file"].json["filename"]}


def legacy_setup(env: Env, project: str) -> dict:
    data = _wheel(project)
    fields = {
        ":action": "file_upload",
        "protocol_version": "1",
        "name": project,
        "version": "1.0",
        "filetype": "bdist_wheel",
        "sha256_digest": sha256(data),
    }
    body, content_type = encode_multipart_formdata(
        [*fields.items(), ("content", (wheel_name(project), data, "application/octet-stream"))]
    )
    return {"body": body, "type": content_type, "project": project}


def _legacy_post(env: Env, state: dict) -> int:
    headers = {**basic(env.client.secret), "Content-Type": state["type"]}
    try:
        return env.http.post("/legacy/", headers=headers, body=state["body"]).status_code
    except Exception:
        return 500


def legacy_op(env: Env, state: dict) -> None:
    state["status"] = _legacy_post(env, state)


def legacy_recover(env: Env, state: dict) -> set[str]:
    if state["status"] >= 500:  # twine reports the failure; the user runs it again
        state["status"] = _legacy_post(env, state)
    env.settle()
    assert state["status"] == 200, state["status"]
    return {wheel_name(state["project"])}


def _session_with_files(env: Env, project: str) -> dict:
    state = publish_setup(env, project)
    big = env.client.add_file(
        state["session"],
        f"{project.replace('-', '_')}-1.0.tar.gz",
        b"",
        size=20 * 1024 * 1024,
        hashes={"sha256": "0" * 64},
        mechanism=MULTIPART,
    )
    assert big.status == 202, big
    return state


def cancel_op(env: Env, state: dict) -> None:
    state["cancel"] = call(env, "DELETE", state["session"].json["links"]["session"])


def _gone_and_reusable(env: Env, state: dict) -> set[str]:
    session = env.client.session(state["session"])
    assert session.status == 200 and session.json["status"] == "canceled", session
    # The release is free again: a new session for it opens.
    project = state["session"].json["links"]["session"]
    assert project
    return set()


def cancel_recover(env: Env, state: dict) -> set[str]:
    if state["cancel"].status >= 500:
        call(env, "DELETE", state["session"].json["links"]["session"])
    env.clock.advance(days=2)  # a cancel that never happened ends as an expiry
    sweep(env)
    env.settle()
    return _gone_and_reusable(env, state)


def expiry_setup(env: Env, project: str) -> dict:
    state = _session_with_files(env, project)
    env.clock.advance(days=2)
    return state


def expiry_op(env: Env, state: dict) -> None:
    try:
        sweep(env)
    except Exception:
        state["failed"] = True


def expiry_recover(env: Env, state: dict) -> set[str]:
    sweep(env)  # the next scheduled run
    env.settle()
    return _gone_and_reusable(env, state)


SCENARIOS = {
    "validate": (validate_setup, validate_op, validate_recover),
    "publish": (publish_setup, publish_op, publish_recover),
    "legacy": (legacy_setup, legacy_op, legacy_recover),
    "cancel": (_session_with_files, cancel_op, cancel_recover),
    "expiry": (expiry_setup, expiry_op, expiry_recover),
}


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_every_aws_call_can_fail(scenario, request, http, app_client, aws, wharf, clock, issue):
    setup, operate, recover = SCENARIOS[scenario]
    client = UploadClient(http, issue("upload", ("acme-*",)))
    faults = Faults(aws.clients.s3, aws.clients.dynamodb, aws.clients.sqs)
    env = Env(http, app_client, aws, wharf, clock, client, faults)

    # A clean run says how many AWS calls the operation makes.
    state = setup(env, "acme-count")
    faults.count()
    operate(env, state)
    calls = faults.calls
    faults.disarm()
    assert calls > 0

    full = request.config.getoption("--fault-profile") == "full"
    plan = [
        (n, kind)
        for n in range(1, calls + 1)
        for kind in (KINDS if full else (KINDS[n % len(KINDS)],))
    ]
    failures: list[str] = []
    covered = 0
    for index, (n, kind) in enumerate(plan):
        project = f"acme-{scenario}-{index}"
        state = setup(env, project)
        faults.arm(n, kind)
        try:
            operate(env, state)
        except Exception as error:  # an operation may surface the fault; recovery follows
            state["raised"] = repr(error)
        fired, reached = faults.fired, faults.calls >= n
        faults.disarm()
        try:
            expected = recover(env, state)
            problems = check_invariants(aws, project, expect_published=expected)
        except AssertionError as error:
            problems = [f"recovery failed: {error}"]
        if fired:
            covered += 1
        elif reached:
            problems = [f"fault {n} was reached but never fired", *problems]
        if problems:
            failures.append(f"{scenario} call {n} ({kind}): " + "; ".join(problems))
    print(
        json.dumps(
            {
                "scenario": scenario,
                "aws_calls": calls,
                "fault_points": covered,
                "dead_letters": dead_letters(aws),
            }
        )
    )
    assert not failures, "\n".join(failures)
