"""The legacy upload form the client sends (as twine does), with the file's own metadata
read by packaging.metadata."""

from __future__ import annotations

from collections.abc import Iterator
from email.parser import BytesParser
from email.policy import HTTP

import pytest

from tests.builders import metadata_text, sdist_bytes, wheel_bytes, zip_sdist_bytes
from tests.scripted_http import Script, scripted_server
from wharf_cli import legacy
from wharf_cli.client import ClientError
from wharf_cli.dists import core_metadata, inspect

METADATA = metadata_text(
    "acme-tools", "1.0", requires=["requests>=2", "rich; extra == 'cli'"], extra=["License: MIT"]
)


@pytest.fixture
def server() -> Iterator[tuple[str, Script]]:
    with scripted_server() as running:
        yield running


def form_fields(body: bytes, content_type: str) -> list[tuple[str, str]]:
    message = BytesParser(policy=HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body
    )
    return [
        (part.get_param("name", header="content-disposition"), part.get_content())
        for part in message.iter_parts()
        if part.get_filename() is None
    ]


def test_the_form_repeats_the_wheels_metadata(server, tmp_path):
    url, script = server
    wheel = tmp_path / "acme_tools-1.0-py3-none-any.whl"
    wheel.write_bytes(wheel_bytes("acme_tools", "1.0", metadata=METADATA))
    script.answers[("POST", "/legacy/")] = [(200, {}, b"OK")]
    assert legacy.upload(url, ("__token__", "t"), inspect(wheel)) == "uploaded"
    ((method, path, body),) = script.seen
    assert (method, path) == ("POST", "/legacy/")
    fields = form_fields(body, script.headers[0]["Content-Type"])
    assert (":action", "file_upload") in fields
    assert ("name", "acme-tools") in fields and ("version", "1.0") in fields
    assert ("metadata_version", "2.1") in fields
    assert ("summary", "A test distribution") in fields
    assert ("requires_python", ">=3.9") in fields
    assert ("license", "MIT") in fields
    assert [v for k, v in fields if k == "requires_dist"] == ["requests>=2", "rich; extra == 'cli'"]
    assert ("description", "The long description.\n") in fields


@pytest.mark.parametrize("kind", ["tar.gz", "zip"])
def test_sdist_metadata_from_pkg_info(tmp_path, kind):
    path = tmp_path / f"acme_tools-1.0.{kind}"
    if kind == "zip":  # as setuptools built them before PEP 625
        path.write_bytes(zip_sdist_bytes())
    else:
        text = metadata_text("acme-tools", "1.0", metadata_version="2.2", requires=["a", "b"])
        path.write_bytes(sdist_bytes(pkg_info=text))
    metadata = core_metadata(inspect(path))
    assert (metadata["name"], metadata["version"]) == ("acme-tools", "1.0")
    assert metadata["description"] == "The long description.\n"
    if kind == "tar.gz":
        assert metadata["requires_dist"] == ["a", "b"]


def test_an_archive_without_metadata_is_a_clear_error(tmp_path):
    path = tmp_path / "acme_tools-1.0.tar.gz"
    path.write_bytes(sdist_bytes(include_pkg_info=False))
    with pytest.raises(ClientError, match=r"acme_tools-1.0.tar.gz: no PKG-INFO"):
        core_metadata(inspect(path))
