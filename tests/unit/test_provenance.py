"""The pure side of PEP 740: bounds and shapes of uploaded attestations, publishers, links,
and what pages show (tests/unit/test_cold_start.py keeps the verifier off the import path)."""

from __future__ import annotations

import base64
import json

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
