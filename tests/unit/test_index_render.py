import json
from pathlib import Path

from chalicelib.domain.index import ProjectListing, RootIndex, render_root_html, render_root_json

GOLDEN = Path(__file__).resolve().parent.parent / "fixtures" / "golden"

ROOT = RootIndex(
    projects=(
        ProjectListing(name="Silly_Walk", last_serial=42),
        ProjectListing(name="HolyGrail", last_serial=40),
        ProjectListing(name="a<b", last_serial=1),
    ),
    last_serial=42,
)


def test_root_html_matches_golden():
    assert render_root_html(ROOT).decode() == (GOLDEN / "root.html").read_text()


def test_root_json_matches_golden():
    rendered = json.loads(render_root_json(ROOT))
    assert rendered == json.loads((GOLDEN / "root.json").read_text())


def test_empty_root():
    assert json.loads(render_root_json(RootIndex())) == {
        "meta": {"api-version": "1.4", "_last-serial": 0},
        "projects": [],
    }
    assert b"<a " not in render_root_html(RootIndex())


def test_loggable_key_hides_the_session_token():
    from chalicelib.domain.layout import loggable_key

    token = "Ak_PSl25TvGV5FLQb1m3w6Pvss4AJnQX"
    assert token not in loggable_key(f"staging/{token}/fid/a-1.0.tar.gz")
    assert (
        loggable_key(f"staging/{token}/fid/a-1.0.tar.gz") == "staging/Ak_PSl25.../fid/a-1.0.tar.gz"
    )
    assert loggable_key("simple/index.html") == "simple/index.html"
