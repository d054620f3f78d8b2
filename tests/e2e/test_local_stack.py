"""`make serve` as a newcomer meets it: the URLs, tokens, the CLI and the event path."""

from __future__ import annotations

import json
import stat
import time

import boto3
import pytest
import requests

from tests.e2e.conftest import run_wharf, start_stack

pytestmark = pytest.mark.e2e
JSON_TYPE = "application/vnd.pypi.simple.v1+json"


def aws_client(stack, service):
    return boto3.client(
        service,
        endpoint_url=stack.moto_url,
        region_name="us-east-1",
        aws_access_key_id="wharf-local",
        aws_secret_access_key="wharf-local",
    )


def test_root_index_html_json_and_401(stack):
    auth = ("__token__", stack.admin_token)
    html = requests.get(f"{stack.url}/simple/", auth=auth, timeout=10)
    assert html.status_code == 200
    assert html.headers["Content-Type"].startswith("text/html")
    assert "<!DOCTYPE html>" in html.text

    as_json = requests.get(f"{stack.url}/simple/", auth=auth, headers={"Accept": JSON_TYPE})
    assert as_json.headers["Content-Type"] == JSON_TYPE
    assert as_json.json()["meta"]["api-version"] == "1.4"
    assert isinstance(as_json.json()["projects"], list)

    anonymous = requests.get(f"{stack.url}/simple/", timeout=10)
    assert anonymous.status_code == 401
    assert anonymous.headers["WWW-Authenticate"] == 'Basic realm="wharf"'


def test_token_lifecycle_through_the_cli(stack):
    created = run_wharf(
        stack, "token", "create", "--role", "read", "--json", "--description", "e2e"
    )
    assert created.returncode == 0, created.stderr
    token = json.loads(created.stdout)
    assert {"id", "token", "role", "projects", "expires_at"} <= set(token)
    auth = ("__token__", token["token"])
    assert requests.get(f"{stack.url}/simple/", auth=auth, timeout=10).status_code == 200

    listed = run_wharf(stack, "token", "list")
    assert listed.returncode == 0, listed.stderr
    assert token["id"] in listed.stdout
    assert token["token"] not in listed.stdout and stack.admin_token not in listed.stdout
    as_json = json.loads(run_wharf(stack, "token", "list", "--json").stdout)
    assert token["id"] in [t["id"] for t in as_json]

    revoked = run_wharf(stack, "token", "revoke", token["id"])
    assert revoked.returncode == 0, revoked.stderr
    assert requests.get(f"{stack.url}/simple/", auth=auth, timeout=10).status_code == 401
    # The secret was only ever in the create response, never in the server's log.
    assert token["token"] not in stack.log()


def test_cli_human_output_and_failures(stack):
    created = run_wharf(stack, "token", "create", "--role", "upload", "--project", "acme-*")
    assert created.returncode == 0, created.stderr
    lines = created.stdout.splitlines()
    assert lines[0].startswith("Created token ") and "acme-*" in lines[0]
    assert lines[1].startswith("wharf_")

    bad_role = run_wharf(stack, "token", "create", "--role", "upload")
    assert bad_role.returncode == 1
    assert bad_role.stderr.count("\n") == 1
    assert "at least one project pattern" in bad_role.stderr

    not_admin = run_wharf(stack, "token", "list", token=lines[1])
    assert not_admin.returncode == 1
    assert "403" in not_admin.stderr

    wrong = run_wharf(stack, "token", "list", token="wharf_wrong")
    assert wrong.returncode == 1 and "401" in wrong.stderr

    unknown = run_wharf(stack, "token", "revoke", "does-not-exist")
    assert unknown.returncode == 1 and "404" in unknown.stderr


def test_staged_object_reaches_the_event_handler(stack):
    key = f"staging/e2e/{time.time_ns()}/acme tools-1.0.tar.gz"
    aws_client(stack, "s3").put_object(Bucket="wharf-local-packages", Key=key, Body=b"x" * 42)
    text = stack.wait_for_log(key)
    (line,) = [
        json.loads(line) for line in text.splitlines() if key in line and line.startswith("{")
    ]
    assert line["message"] == "staged object handled"
    assert line["outcome"] == "ignored: no such file upload session"


def test_failing_message_ends_in_the_dead_letter_queue(stack):
    sqs = aws_client(stack, "sqs")
    queue = sqs.get_queue_url(QueueName="wharf-local-events")["QueueUrl"]
    dlq = sqs.get_queue_url(QueueName="wharf-local-events-dlq")["QueueUrl"]
    marker = f"poison-{time.time_ns()}"
    sqs.send_message(QueueUrl=queue, MessageBody=json.dumps({"not": "an S3 event", "m": marker}))
    deadline = time.monotonic() + 45
    while time.monotonic() < deadline:
        messages = sqs.receive_message(QueueUrl=dlq, WaitTimeSeconds=1).get("Messages", [])
        if any(marker in m["Body"] for m in messages):
            break
    else:
        raise AssertionError("the failing message never reached the dead-letter queue")
    # It was tried as often as the redrive policy allows (maxReceiveCount 5), then parked.
    assert stack.log().count("is not an S3 notification") >= 5


def test_generated_admin_token_and_clean_stop(tmp_path):
    local = start_stack(tmp_path, admin_token=None)
    try:
        token_file = local.state_dir / "admin-token"
        assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
        assert local.admin_token.startswith("wharf_")
        assert local.admin_token in local.log()  # printed once at start
        auth = ("__token__", local.admin_token)
        assert requests.get(f"{local.url}/simple/", auth=auth, timeout=10).status_code == 200
    finally:
        assert local.stop() == 0
    assert "wharf: stopped" in local.log()


@pytest.mark.parametrize(
    "path", ["/upload/x/files/y/complete/z", "/upload/a/b/c/d/e/f/g", "/", "/no/such/path"]
)
def test_unknown_paths_on_the_local_server_never_echo_credentials(stack, path):
    """chalice local answers an unrouted path with API Gateway's 403, which quotes the
    Authorization header; wharf's catch-all answers a 404 problem document instead."""
    reply = requests.post(
        stack.url + path, auth=("__token__", stack.admin_token), data=b"{}", timeout=10
    )
    assert reply.status_code == 404
    assert reply.headers["Content-Type"] == "application/problem+json"
    assert reply.json()["type"] == "urn:wharf:problem:not-found"
    assert stack.admin_token not in reply.text
    assert "Authorization" not in reply.text
    if path.startswith("/upload/"):
        assert reply.json()["meta"] == {"api-version": "2.0"}


def test_the_log_never_shows_a_session_token(stack):
    """A session's token is its stage URL's only credential: the stack's output (the app's
    JSON lines; no access log) names routes, never the token."""
    created = run_wharf(
        stack, "token", "create", "--role", "upload", "--project", "logcheck", "--json"
    )
    token = json.loads(created.stdout)["token"]
    auth = ("__token__", token)
    v2 = "application/vnd.pypi.upload.v2+json"
    session = requests.post(
        f"{stack.url}/upload/",
        auth=auth,
        headers={"Content-Type": v2},
        json={"meta": {"api-version": "2.0"}, "name": "logcheck", "version": "1.0"},
        timeout=10,
    ).json()
    requests.get(session["links"]["session"], auth=auth, timeout=10)
    requests.get(session["links"]["stage"], timeout=10)
    requests.get(session["links"]["session"] + "/nonsense/deeper", auth=auth, timeout=10)
    time.sleep(0.5)
    log = stack.log()
    assert session["session-token"] not in log
    assert session["session-token"][:8] in log  # the short form that follows a session
    assert token not in log
