"""The pure side of PEP 740: bounds and shapes of uploaded attestations, publishers, links,
and what pages show; and the verifier kept off the import path of every request."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path

import pytest

from chalicelib.domain.identity import IssuerKind, PublisherIdentity
from chalicelib.domain.index import FileEntry, ProjectPage, render_project_html, render_project_json
from chalicelib.domain.provenance import (
    AttestationsError,
    compact_publisher,
    integrity_url,
    parse_attestations,
    published_from,
    publisher_of,
)
from tests.attestation_fixtures import GITHUB, GITLAB

ROOT = Path(__file__).resolve().parents[2]


def _with_predicate(attestation: dict, predicate: str) -> dict:
    statement = json.loads(base64.b64decode(attestation["envelope"]["statement"]))
    statement["predicateType"] = predicate
    changed = json.loads(json.dumps(attestation))
    changed["envelope"]["statement"] = base64.b64encode(json.dumps(statement).encode()).decode()
    return changed


def test_real_attestations_parse():
    assert parse_attestations(GITLAB.attestations_json()) == GITLAB.attestations()


@pytest.mark.parametrize(
    ("attestations", "message"),
    [
        ("3 copies", "At most 2 attestations"),
        ("same type twice", "Two attestations have the predicate type"),
        ("unknown type", "has predicate type 'https://example.com/x'"),
        ("no entries", "at least one entry"),
        ("statement not base64", "not base64 JSON"),
    ],
)
def test_attestations_that_cannot_be_taken(attestations, message):
    real = GITLAB.attestations()[0]
    cases = {
        "3 copies": [real] * 3,
        "same type twice": [real, real],
        "unknown type": [_with_predicate(real, "https://example.com/x")],
        "no entries": [
            {**real, "verification_material": {"certificate": "x", "transparency_entries": []}}
        ],
        "statement not base64": [{**real, "envelope": {"statement": "%%", "signature": "x"}}],
    }
    with pytest.raises(AttestationsError, match=message):
        parse_attestations(json.dumps(cases[attestations]))


def test_publishers_as_pypi_writes_them():
    assert publisher_of(GITHUB.publisher) == {
        "kind": "GitHub",
        "repository": "trailofbits/pypi-attestation-models",
        "workflow": "release.yml",
        "environment": None,
    }
    assert publisher_of(GITLAB.publisher)["workflow_filepath"] == ".gitlab-ci.yml"
    self_managed = GITLAB.publisher.model_copy(update={"issuer": "https://gitlab.acme.test"})
    other = PublisherIdentity(
        publisher_id="x", kind=IssuerKind.OTHER, issuer="https://ci", repository="r", workflow="w"
    )
    # pypi-attestations can match neither: such uploads may not attest.
    assert publisher_of(self_managed) is None
    assert publisher_of(other) is None


def test_published_from_for_pages():
    shown = published_from(compact_publisher(publisher_of(GITHUB.publisher)))
    assert shown.text == "published from trailofbits/pypi-attestation-models by release.yml"
    assert shown.url == "https://github.com/trailofbits/pypi-attestation-models"
    gitlab = published_from({"kind": "GitLab", "repository": "a/b/c", "workflow_filepath": "x"})
    assert (gitlab.url, gitlab.workflow) == ("https://gitlab.com/a/b/c", "x")
    assert published_from(None) is None
    assert published_from("not json") is None


def test_integrity_url_is_absolute_and_quoted():
    assert (
        integrity_url("https://w.example/", "acme", "1.0+local", "acme-1.0+local.tar.gz")
        == "https://w.example/integrity/acme/1.0%2Blocal/acme-1.0%2Blocal.tar.gz/provenance"
    )


def _page(base: str | None) -> ProjectPage:
    attested = FileEntry(
        filename="acme-1.0.tar.gz",
        version="1.0",
        size=1,
        sha256="a" * 64,
        upload_time="2001-01-01T12:00:00.000000Z",
        provenance_publisher='{"kind":"GitHub"}',
    )
    plain = FileEntry(
        filename="acme-1.0-py3-none-any.whl",
        version="1.0",
        size=1,
        sha256="b" * 64,
        upload_time="2001-01-01T12:00:00.000000Z",
    )
    return ProjectPage(name="acme", files=(attested, plain), last_serial=1, provenance_base=base)


def test_index_links_provenance_only_with_a_public_url():
    url = "https://w.example/integrity/acme/1.0/acme-1.0.tar.gz/provenance"
    files = {
        f["filename"]: f
        for f in json.loads(render_project_json(_page("https://w.example")))["files"]
    }
    assert files["acme-1.0.tar.gz"]["provenance"] == url
    assert "provenance" not in files["acme-1.0-py3-none-any.whl"]
    html = render_project_html(_page("https://w.example")).decode()
    assert html.count("data-provenance=") == 1 and f'data-provenance="{url}"' in html
    # Without the public URL no relative link is made up (PEP 740 requires absolute URLs).
    assert "provenance" not in render_project_json(_page(None)).decode()
    assert "data-provenance" not in render_project_html(_page(None)).decode()


# The provenance layer's libraries (requirements-provenance.in) and cryptography.
NOT_AT_START = (
    "sigstore",
    "pypi_attestations",
    "rfc3161_client",
    "securesystemslib",
    "tuf",
    "readme_renderer",
    "docutils",
    "pygments",
    "nh3",
    "comrak",
    "cryptography",
    # boto3's package (its resource layer, s3transfer): ~25 ms; clients come from botocore.
    "boto3",
    "s3transfer",
)


def _run_in_app(code: str) -> subprocess.CompletedProcess[str]:
    """``code`` in a fresh interpreter, with the settings a stage gives the app."""
    env = {
        "WHARF_TABLE_NAME": "t",
        "WHARF_BUCKET_NAME": "b",
        "WHARF_QUEUE_ARN": "arn:aws:sqs:us-east-1:000000000000:q",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )


def test_the_request_path_does_not_import_the_verifier():
    """sigstore and pypi-attestations cost ~0.4 s of a cold start, the readme renderer
    ~0.09 s (docs/operations.md): only a file with attestations, or a release to publish,
    may load them."""
    code = f"import sys, app; print(sorted(m for m in {NOT_AT_START!r} if m in sys.modules))"
    out = _run_in_app(code)
    assert out.stdout.strip() == "[]"


def test_no_model_is_built_at_start():
    """A model's validator is built the first time it is used (chalicelib/domain/model.py):
    building all of them was ~20 ms of every cold start."""
    code = (
        "import app\n"
        "from chalicelib.domain.model import WharfModel\n"
        "def subclasses(c):\n"
        "    for s in c.__subclasses__():\n"
        "        yield s\n"
        "        yield from subclasses(s)\n"
        "models = list(subclasses(WharfModel))\n"
        "print(len(models), sorted(m.__name__ for m in models if m.__pydantic_complete__))\n"
    )
    out = _run_in_app(code)
    count, built = out.stdout.strip().split(" ", 1)
    assert int(count) >= 25
    assert built == "[]"
