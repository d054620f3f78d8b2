"""The review step on the local stack: the example reviewer (WHARF_REVIEWERS=example) reads
the real review queue and posts verdicts through the admin API; Upload 2.0 clients, twine
and `uv publish` see only PEP 694's statuses and the legacy API's usual answers."""

from __future__ import annotations

import json
import time
from pathlib import Path

import boto3
import pytest
import requests

from tests.builders import metadata_text, sdist_bytes, wheel_bytes
from tests.e2e.conftest import run_wharf, start_stack
from tests.e2e.test_legacy_clients import index_files, pip_install, twine, uv_publish
from tests.e2e.test_upload_flow import META, call, poll_until, upload

pytestmark = pytest.mark.e2e

MARKER = b"WHARF-TEST-REJECT"
SAMPLE_YARA = Path(__file__).resolve().parents[2] / "wharf_stack" / "reviewer" / "sample.yar"


@pytest.fixture(scope="module")
def reviewed_stack(tmp_path_factory):
    running = start_stack(
        tmp_path_factory.mktemp("reviewed"),
        admin_token="wharf_e2e-review-admin",
        extra_env={
            "WHARF_REVIEWERS": "example",
            "WHARF_SCHEDULE_SECONDS": "1",
            "WHARF_REVIEWER_YARA_RULES": str(SAMPLE_YARA),
        },
    )
    yield running
    running.stop()


@pytest.fixture(scope="module")
def silent_stack(tmp_path_factory):
    """A reviewer nobody runs: only the timeout policy decides, and legacy uploads wait 1 s."""
    running = start_stack(
        tmp_path_factory.mktemp("silent"),
        admin_token="wharf_e2e-silent-admin",
        extra_env={
            "WHARF_REVIEWERS": "absent",
            "WHARF_SCHEDULE_SECONDS": "1",
            "WHARF_LEGACY_REVIEW_WAIT_SECONDS": "1",
            "WHARF_REVIEW_TIMEOUT_SECONDS": "3600",
        },
    )
    yield running
    running.stop()


def upload_token(stack) -> str:
    created = run_wharf(
        stack, "token", "create", "--role", "upload", "--project", "e2e-*", "--json"
    )
    assert created.returncode == 0, created.stderr
    return json.loads(created.stdout)["token"]


def wheel(name: str, version: str = "1.0", *, marker: bool = False) -> tuple[str, bytes]:
    module = name.replace("-", "_")
    body = b"FLAG = " + (repr(MARKER.decode()).encode() if marker else b"'clean'") + b"\n"
    data = wheel_bytes(
        module,
        version,
        metadata=metadata_text(name, version),
        files={f"{module}/flag.py": body},
    )
    return f"{module}-{version}-py3-none-any.whl", data


def s3_keys(stack, prefix: str) -> list[str]:
    s3 = boto3.client(
        "s3",
        endpoint_url=stack.moto_url,
        region_name="us-east-1",
        aws_access_key_id="wharf-local",
        aws_secret_access_key="wharf-local",
    )
    bucket = "wharf-local-packages"
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=prefix)
    return [o["Key"] for o in listed.get("Contents", [])]


def new_session(token, stack, name, version="1.0"):
    created = call(
        token, "POST", f"{stack.url}/upload/", {"meta": META, "name": name, "version": version}
    )
    assert created.status_code == 201, created.text
    return created.json()


def test_the_example_reviewer_rejects_the_marker_and_approves_a_clean_file(reviewed_stack):
    stack = reviewed_stack
    token = upload_token(stack)
    session = new_session(token, stack, "e2e-reviewed")
    clean_name, clean = wheel("e2e-reviewed")
    bad_name, bad = wheel("e2e-reviewed", marker=True)
    bad_name = bad_name.replace("py3-none-any", "py311-none-any")
    clean_file = upload(token, session, clean_name, clean)
    bad_file = upload(token, session, bad_name, bad)

    rejected = poll_until(token, bad_file["links"]["file-upload-session"], {"error", "completed"})
    assert rejected["status"] == "error", rejected
    [notice] = rejected["notices"]
    assert notice.startswith("review: rejected by example: ")
    assert "flag.py: contains the marker 'WHARF-TEST-REJECT'" in notice
    assert "flag.py: matches YARA rule wharf_test_marker (rule yara)" in notice
    approved = poll_until(token, clean_file["links"]["file-upload-session"], {"error", "completed"})
    assert approved["status"] == "completed", approved
    stack.wait_for_log(f"{clean_name} -> approve (200)")

    # With the rejected file in it the session cannot publish; nothing is published.
    refused = call(token, "POST", session["links"]["publish"], {"meta": META})
    assert refused.status_code == 409
    assert refused.json()["type"] == "urn:wharf:problem:files-not-completed"
    assert index_files(stack, token, "e2e-reviewed").get("files", []) == []
    # The rejected bytes are nowhere a client can reach: not on the stage, not in the
    # index, not under staging; the admin's copy is in quarantine.
    staged = requests.get(
        f"{session['links']['stage']}e2e-reviewed/", auth=("__token__", token), timeout=30
    )
    assert bad_name not in staged.text and clean_name in staged.text
    direct = requests.get(
        f"{session['links']['stage']}files/{bad_name}", timeout=30, allow_redirects=False
    )
    assert direct.status_code == 404, direct.text
    clean_link = requests.get(
        f"{session['links']['stage']}files/{clean_name}", timeout=30, allow_redirects=False
    )
    assert clean_link.status_code == 302
    assert not [k for k in s3_keys(stack, "staging/") if k.endswith(bad_name)]
    [kept] = [k for k in s3_keys(stack, "quarantine/") if k.endswith(bad_name)]
    assert kept.startswith("quarantine/e2e-reviewed/")

    # Deleting the rejected file lets the rest of the release go out.
    assert call(token, "DELETE", bad_file["links"]["file-upload-session"]).status_code == 204
    published = call(token, "POST", session["links"]["publish"], {"meta": META})
    assert published.status_code == 202, published.text
    poll_until(token, session["links"]["session"], {"published"})
    files = [f["filename"] for f in index_files(stack, token, "e2e-reviewed")["files"]]
    assert files == [clean_name]
    assert s3_keys(stack, "quarantine/") == [kept]


def test_twine_and_uv_wait_for_the_example_reviewer(reviewed_stack, tmp_path):
    stack = reviewed_stack
    token = upload_token(stack)
    clean_name, clean = wheel("e2e-twine-reviewed")
    sdist = tmp_path / "e2e_twine_reviewed-1.0.tar.gz"
    sdist.write_bytes(sdist_bytes("e2e_twine_reviewed", "1.0"))
    (tmp_path / clean_name).write_bytes(clean)
    first = twine(stack, token, str(tmp_path / clean_name), str(sdist))
    assert first.returncode == 0, first.stdout + first.stderr
    assert pip_install(stack, token, tmp_path, "e2e-twine-reviewed").returncode == 0

    bad_name, bad = wheel("e2e-uv-reviewed", marker=True)
    (tmp_path / bad_name).write_bytes(bad)
    refused = uv_publish(stack, token, tmp_path, str(tmp_path / bad_name))
    assert refused.returncode != 0
    assert "400" in refused.stderr and "rejected by example" in refused.stderr, refused.stderr
    # twine shows a refusal's body with --verbose (as for PyPI's).
    refused_twine = twine(stack, token, "--verbose", str(tmp_path / bad_name))
    assert refused_twine.returncode != 0
    assert "400" in refused_twine.stdout + refused_twine.stderr
    assert "rejected by example" in refused_twine.stdout + refused_twine.stderr
    assert index_files(stack, token, "e2e-uv-reviewed").get("files", []) == []


def admin_put_policy(stack, project, on_timeout, seconds):
    reply = requests.put(
        f"{stack.url}/admin/projects/{project}/review-policy",
        json={"on_timeout": on_timeout, "timeout_seconds": seconds},
        auth=("__token__", stack.admin_token),
        timeout=30,
    )
    assert reply.status_code == 200, reply.text


def wait_for(predicate, what: str, timeout: float = 30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.25)
    raise AssertionError(f"{what} never happened")


def test_legacy_uploads_nobody_reviews_are_accepted_then_the_policy_decides(silent_stack, tmp_path):
    stack = silent_stack
    token = upload_token(stack)
    admin_put_policy(stack, "e2e-late-yes", "approve", 2)
    admin_put_policy(stack, "e2e-late-no", "reject", 2)
    yes_name, yes = wheel("e2e-late-yes")
    no_name, no = wheel("e2e-late-no")
    (tmp_path / yes_name).write_bytes(yes)
    (tmp_path / no_name).write_bytes(no)

    # The wait runs out: 202, which twine and `uv publish` both report as uploaded.
    by_twine = twine(stack, token, "--verbose", str(tmp_path / yes_name))
    assert by_twine.returncode == 0, by_twine.stdout + by_twine.stderr
    assert "202 Accepted" in by_twine.stdout + by_twine.stderr
    by_uv = uv_publish(stack, token, tmp_path, str(tmp_path / no_name))
    assert by_uv.returncode == 0, by_uv.stderr

    # Silence approves one project's file (published) and rejects the other's.
    def listed(project: str) -> list[str]:
        return [f["filename"] for f in index_files(stack, token, project).get("files", [])]

    wait_for(lambda: listed("e2e-late-yes") == [yes_name], "the approve-on-timeout publish")
    assert pip_install(stack, token, tmp_path, "e2e-late-yes").returncode == 0
    wait_for(
        lambda: any(k.endswith(no_name) for k in s3_keys(stack, "quarantine/")),
        "the reject-on-timeout quarantine",
    )
    assert listed("e2e-late-no") == []
    # The same bytes again: now refused with the notice the policy wrote.
    again = twine(stack, token, str(tmp_path / no_name))
    assert again.returncode != 0


def test_upload_2_sessions_wait_for_the_timeout_policy(silent_stack):
    stack = silent_stack
    token = upload_token(stack)
    admin_put_policy(stack, "e2e-v2-late", "approve", 2)
    session = new_session(token, stack, "e2e-v2-late")
    name, data = wheel("e2e-v2-late")
    file = upload(token, session, name, data)
    reply = call(token, "GET", file["links"]["file-upload-session"])
    assert reply.json()["status"] == "processing"
    assert "Retry-After" in reply.headers
    early = call(token, "POST", session["links"]["publish"], {"meta": META})
    assert early.status_code == 409
    done = poll_until(token, file["links"]["file-upload-session"], {"completed", "error"})
    assert done["status"] == "completed"
    assert done["notices"] == [
        "review: approved by the project's timeout policy; no verdict from absent"
    ]
    published = call(token, "POST", session["links"]["publish"], {"meta": META})
    assert published.status_code == 202
