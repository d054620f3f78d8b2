"""Description-Content-Type as core metadata declares it (packaging.python.org, core
metadata): the media type, and Markdown's variant however the parameter is written."""

from __future__ import annotations

import pytest

from chalicelib.services.readme import content_type_of


@pytest.mark.parametrize(
    ("declared", "expected"),
    [
        (None, ("text/x-rst", None)),
        ("", ("text/x-rst", None)),
        ("text/plain", ("text/plain", None)),
        ("text/markdown; charset=UTF-8; variant=GFM", ("text/markdown", "GFM")),
        ('Text/Markdown; variant="CommonMark"', ("text/markdown", "CommonMark")),
        ("text/markdown; variant*=utf-8''CommonMark", ("text/markdown", "CommonMark")),
    ],
)
def test_the_media_type_and_variant(declared, expected):
    assert content_type_of(declared) == expected
