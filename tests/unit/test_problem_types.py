"""Every error class answers with its own documented problem type; the mechanisms registry
and the request schemas parse at the edge."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from chalicelib.api import problems
from chalicelib.api.schemas import CreateFile, CreateSession, Extend, parse_body
from chalicelib.domain import errors
from chalicelib.domain.errors import InvalidRequestError, UnprocessableError, WharfError
from chalicelib.services.mechanisms import ENDPOINTS, IDENTIFIERS, REGISTERED, mechanism_for

DOC = (Path(__file__).resolve().parents[2] / "docs" / "problems.md").read_text()


def test_every_problem_type_is_documented():
    for status, slug, _ in problems._TABLE.values():
        assert f"`urn:wharf:problem:{slug}` | {status} |" in DOC, slug


def test_every_conflict_a_client_acts_on_has_its_own_type():
    conflicts = [
        cls
        for _, cls in inspect.getmembers(errors, inspect.isclass)
        if issubclass(cls, errors.ConflictError) and cls is not errors.ConflictError
    ]
    slugs = {problems._status_for(cls.__new__(cls))[1] for cls in conflicts}
    assert len(slugs) == len(conflicts), "two conflicts share a problem type"
    assert "conflict" not in slugs


def test_the_most_specific_class_wins():
    assert problems._status_for(errors.AlreadyPublishedError("x"))[1] == "already-published"
    assert problems._status_for(errors.SessionNotEditableError("x"))[1] == "session-not-editable"
    assert problems._status_for(WharfError("x"))[0] == 500


def test_mechanisms_are_registered_in_one_place():
    assert IDENTIFIERS == ("vnd-wharf-s3multipart-presigned-v1", "http-post-bytes")
    assert set(ENDPOINTS) == {"bytes", "parts"}
    for mechanism in REGISTERED:
        assert mechanism_for(mechanism.identifier) is mechanism
    with pytest.raises(UnprocessableError):
        mechanism_for("carrier-pigeon")


@pytest.mark.parametrize(
    ("model", "body", "sources"),
    [
        (CreateSession, {"name": 7}, {"name", "version"}),
        (CreateSession, {"name": "a", "version": ["1.0"]}, {"version"}),
        (
            CreateFile,
            {"filename": "x", "size": True, "hashes": {}, "mechanism": 1},
            {"size", "hashes", "mechanism"},
        ),
        (
            CreateFile,
            {"filename": "x", "size": -1, "hashes": {"md5": "00"}, "mechanism": "m"},
            {"size", "hashes"},
        ),
        (Extend, {"extend-for": 0}, {"extend-for"}),
    ],
)
def test_bodies_report_every_problem_at_once(model, body, sources):
    with pytest.raises(InvalidRequestError) as raised:
        parse_body(model, body, what="request")
    assert {e["source"] for e in raised.value.errors} == sources


def test_a_good_file_body_is_typed():
    body = parse_body(
        CreateFile,
        {
            "meta": {"_wharf": {"part-size": 8 * 1024 * 1024}},
            "filename": "x.whl",
            "size": 3,
            "hashes": {"SHA256": "A" * 64},
            "mechanism": "http-post-bytes",
        },
        what="request",
    )
    assert body.hashes == {"sha256": "a" * 64}
    assert body.part_size_hint == 8 * 1024 * 1024


def test_the_developer_docs_show_the_lifecycle_tables_as_written():
    from chalicelib.domain.lifecycle import FILES, SESSIONS

    doc = (Path(__file__).resolve().parents[2] / "docs" / "developing.md").read_text()
    for lifecycle in (SESSIONS, FILES):
        for row in lifecycle.rows():
            assert "| " + " | ".join(row) + " |" in doc, row
