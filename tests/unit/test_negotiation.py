import pytest

from chalicelib.domain.negotiation import IndexFormat, select_format

JSON, HTML, TEXT = IndexFormat.JSON, IndexFormat.HTML, IndexFormat.TEXT_HTML
PIP = (
    "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, "
    "text/html; q=0.01"
)


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, TEXT),
        ("", TEXT),
        ("*/*", TEXT),
        (PIP, JSON),
        ("application/vnd.pypi.simple.v1+json", JSON),
        ("application/vnd.pypi.simple.latest+json", JSON),
        ("application/vnd.pypi.simple.latest+html", HTML),
        ("application/vnd.pypi.simple.v1+html", HTML),
        ("text/html", TEXT),
        ("text/*", TEXT),
        ("application/*", HTML),
        ("application/*;q=0.5, application/vnd.pypi.simple.v1+json", JSON),
        ("text/html;q=0.2, application/vnd.pypi.simple.v1+json;q=0.9", JSON),
        ("*/*;q=0.1, application/vnd.pypi.simple.v1+json;q=0", TEXT),
        ("APPLICATION/VND.PYPI.SIMPLE.V1+JSON", JSON),
        ("application/vnd.pypi.simple.v1+json;q=abc, text/html", TEXT),
    ],
)
def test_select(accept, expected):
    assert select_format(accept) is expected


@pytest.mark.parametrize(
    "accept",
    [
        "application/json",
        "application/vnd.pypi.simple.v2+json",
        "text/html;q=0",
        "image/png, text/plain",
        "*/*;q=0",
    ],
)
def test_nothing_acceptable(accept):
    assert select_format(accept) is None


def test_content_types():
    assert JSON.content_type == "application/vnd.pypi.simple.v1+json"
    assert TEXT.content_type == "text/html; charset=utf-8"
