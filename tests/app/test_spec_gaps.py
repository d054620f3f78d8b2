"""Two PEP 694 details, through HTTP: any hashlib algorithm as a declared hash, and a
problem document for every unknown path under the API."""

from __future__ import annotations

import hashlib

import pytest

from tests.builders import sha256, wheel_bytes
from tests.conftest import basic
from tests.upload_client import META, deliver_events

# Contract-tested fakes (tests/adapters): these behaviours need nothing only moto shows.
pytestmark = pytest.mark.memory

WHEEL = "acme_tools-1.0-py3-none-any.whl"


@pytest.fixture
def session(uploader):
    created = uploader.create()
    assert created.status == 201
    return created


def _upload_with(uploader, session, data, hashes):
    file = uploader.add_file(session, WHEEL, data, hashes=hashes)
    assert file.status == 202, file
    assert uploader.send_bytes(file, data).status == 204
    assert uploader.complete(file).status == 202
    return file


def test_sha512_256_beside_sha256_is_accepted_and_checked(uploader, session, app_client, aws):
    data = wheel_bytes()
    hashes = {"sha256": sha256(data), "sha512_256": hashlib.new("sha512_256", data).hexdigest()}
    file = _upload_with(uploader, session, data, hashes)
    assert file.json["hashes"] == hashes
    deliver_events(app_client, aws)
    assert uploader.file_status(file).json["status"] == "completed"


def test_a_wrong_digest_of_an_extra_algorithm_fails_validation(uploader, session, app_client, aws):
    data = wheel_bytes()
    wrong = hashlib.new("sha512_256", b"other bytes").hexdigest()
    file = _upload_with(uploader, session, data, {"sha256": sha256(data), "sha512_256": wrong})
    deliver_events(app_client, aws)
    status = uploader.file_status(file).json
    assert status["status"] == "error"
    assert "sha512_256" in " ".join(status["notices"])


@pytest.mark.parametrize("name", ["SHA256", "Sha3_256"])
def test_algorithm_names_are_case_insensitive(uploader, session, name):
    data = wheel_bytes()
    reply = uploader.add_file(session, WHEEL, data, hashes={name: sha256(data).upper()})
    if name == "SHA256":
        assert reply.status == 202, reply
        assert reply.json["hashes"] == {"sha256": sha256(data)}
    else:  # a sha3_256 key with a sha256 digest: well-formed, so accepted, checked later
        assert reply.status == 202, reply
        assert set(reply.json["hashes"]) == {"sha3_256"}


@pytest.mark.parametrize(
    ("hashes", "named"),
    [
        ({"sha256": "0" * 64, "whirlpool9": "0" * 64}, "whirlpool9"),
        ({"sha256": "0" * 64, "shake_256": "0" * 64}, "shake_256"),
        ({"sha256": "0" * 64, "sha256 ": "0" * 64}, "sha256 "),
    ],
)
def test_an_unknown_algorithm_is_400_naming_it(uploader, session, aws, hashes, named):
    data = wheel_bytes()
    reply = uploader.add_file(session, WHEEL, data, hashes=hashes)
    assert reply.status == 400, reply
    assert reply.headers["Content-Type"] == "application/problem+json"
    assert repr(named) in reply.json["detail"]
    assert uploader.session(session).json["files"] == {}


def test_duplicate_algorithm_after_case_folding_is_400(uploader, session):
    data = wheel_bytes()
    reply = uploader.add_file(
        session, WHEEL, data, hashes={"sha256": sha256(data), "SHA256": sha256(data)}
    )
    assert reply.status == 400
    assert "more than once" in reply.json["detail"]


def test_too_many_algorithms_is_400(uploader, session):
    data = wheel_bytes()
    hashes = {"sha256": sha256(data), **{f"x{i}": "00" for i in range(30)}}
    reply = uploader.add_file(session, WHEEL, data, hashes=hashes)
    assert reply.status == 400
    assert "at most" in reply.json["detail"]


DEEP_PATHS = [
    "{complete}/x",
    "{complete}/x/y/z",
    "{file}/parts/1/2",
    "{session}/files/x/y/z/w",
    "{session}/publish/now",
    "/upload/a/b/c/d/e/f/g",
]


@pytest.mark.parametrize("template", DEEP_PATHS)
@pytest.mark.parametrize("method", ["GET", "POST", "DELETE", "PUT"])
def test_every_path_under_upload_is_a_problem_document(uploader, session, template, method):
    file = uploader.add_file(session, WHEEL, wheel_bytes())
    path = template.format(
        complete=file.json["links"]["complete"],
        file=file.json["links"]["file-upload-session"],
        session=session.json["links"]["session"],
    )
    reply = uploader.call(method, path, headers={"Content-Type": "application/json"})
    assert reply.status == 404, reply
    assert reply.headers["Content-Type"] == "application/problem+json"
    assert reply.json["type"] == "urn:wharf:problem:not-found"
    assert reply.json["meta"] == META
    assert uploader.secret not in reply.raw.decode()
    assert "Authorization" not in reply.raw.decode()


# "/" sends a browser to the pages (tests/app/test_pages.py); other methods there are 404s.
@pytest.mark.parametrize("path", ["/nothing", "/simple/a/b/c", "/admin/x/y", "/a/b/c/d"])
def test_unknown_paths_elsewhere_are_plain_404_problems(http, admin, path):
    reply = http.get(path, headers=basic(admin))
    assert reply.status_code == 404
    assert reply.headers["Content-Type"] == "application/problem+json"
    assert admin not in reply.body.decode()
    assert "Authorization" not in reply.body.decode()


def test_the_deployed_api_has_the_catch_all_resources():
    """The swagger chalice deploys: a greedy resource and the root, for every method."""
    from chalice.deploy.swagger import SwaggerGenerator

    from app import app

    arn = "arn:aws:lambda:us-east-1:123456789012:function:wharf"
    swagger = SwaggerGenerator("us-east-1", {"api_handler_arn": arn}).generate_swagger(app)
    for path in ("/", "/{proxy+}"):
        methods = swagger["paths"][path]
        assert {"get", "post", "put", "delete", "patch", "head"} <= set(methods), path
    greedy = swagger["paths"]["/{proxy+}"]["get"]["parameters"]
    assert greedy == [{"name": "proxy", "in": "path", "required": True, "type": "string"}]
