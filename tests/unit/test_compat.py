"""The compatibility run's pure parts (compat/): the release list, reading the clients'
output, the report. The run itself needs the registry and is `make compat`."""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from compat import catalog, coremeta, plan
from compat.catalog import CatalogError, Install, Release, file_version, parse, select_files
from compat.doors import is_client_refusal, parse_twine, parse_upload2
from compat.model import ACCEPTED, CLIENT, REFUSED, SKIPPED, TWINE, UPLOAD2, InstallResult, Verdict
from compat.report import FileFacts, Results, failed, format_text, reason_kind, to_json
from tests.builders import metadata_text, sdist_bytes, wheel_bytes

LIST = """
[[group]]
name = "old"
why = "Setup.py sdists."
releases = [
  { project = "PyYAML", version = "6.0.2", files = [
    "PyYAML-6.0.2-cp311-cp311-win32.whl",
    "pyyaml-6.0.2.tar.gz",
  ] },
  { project = "setuptools", version = "0.6c11", files = ["setuptools-0.6c11.tar.gz"] },
  { project = "MarkupSafe", version = "3.0.2", files = "all" },
]

[[expected]]
filename = "pyyaml-6.0.2.tar.gz"
doors = ["twine"]
why = "an example"

[[install]]
name = "yaml"
requirements = ["pyyaml==6.0.2"]
with = ["six"]
args = ["--only-binary", ":all:"]
check = "import yaml"
"""


def test_a_list_parses_into_groups_releases_expectations_and_installs():
    parsed = parse(LIST)
    assert [g.name for g in parsed.groups] == ["old"]
    assert [r.key for r in parsed.releases] == [
        "PyYAML==6.0.2",
        "setuptools==0.6c11",
        "MarkupSafe==3.0.2",
    ]
    assert parsed.releases[2].files is None
    assert parsed.expected_refusal("pyyaml-6.0.2.tar.gz", TWINE)
    assert not parsed.expected_refusal("pyyaml-6.0.2.tar.gz", UPLOAD2)
    assert parsed.installs[0].args == ("--only-binary", ":all:")
    assert parsed.installs[0].tools == ("pip", "uv")
    assert parsed.installs[0].with_ == ("six",)


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (
            '{ project = "six", version = "1.17.0", files = ["six-1.16.0.tar.gz"] }',
            "not a file of this release",
        ),
        (
            '{ project = "six", version = "1.17.0", files = ["attrs-1.17.0.tar.gz"] }',
            "not a file of this release",
        ),
        ('{ project = "six", version = "nope", files = ["six-1.tar.gz"] }', "not a PEP 440"),
        ('{ project = "six", version = "1.0", files = [] }', "non-empty strings"),
        ('{ project = "six", version = "1.0", file = ["six-1.0.tar.gz"] }', "unknown keys"),
        ('{ project = "", version = "1.0", files = "all" }', "'project'"),
    ],
)
def test_a_bad_release_entry_is_named(entry, message):
    text = f'[[group]]\nname = "g"\nwhy = "w"\nreleases = [\n  {entry},\n]\n'
    with pytest.raises(CatalogError, match=message):
        parse(text)


def test_a_release_listed_twice_in_any_spelling_is_refused():
    text = """
[[group]]
name = "a"
why = "w"
releases = [{ project = "Jinja2", version = "2.11.3", files = "all" }]
[[group]]
name = "b"
why = "w"
releases = [{ project = "jinja2", version = "2.11.3.0", files = "all" }]
"""
    with pytest.raises(CatalogError, match="listed twice"):
        parse(text)


def test_only_keeps_the_named_groups():
    parsed = parse(LIST)
    assert parsed.only(["old"]).releases == parsed.releases
    with pytest.raises(CatalogError, match="no such group: new"):
        parsed.only(["new"])


def test_the_checked_in_list_is_large_varied_and_justified():
    listed = catalog.load()
    assert len(listed.releases) >= 100
    assert all(len(g.why) > 40 for g in listed.groups)
    names = [f for r in listed.releases for f in r.files or ()]
    assert any(n.endswith(".zip") for n in names)
    assert any(n.startswith(("PyYAML-", "Flask-", "Jinja2-")) for n in names)
    assert any("!" in n for n in names)
    hosted = {canonicalize_name(r.project) for r in listed.releases}
    for install in listed.installs:
        for requirement in install.requirements:
            assert canonicalize_name(Requirement(requirement).name) in hosted
        assert {canonicalize_name(name) for name in install.with_} <= hosted


def test_file_version_reads_old_and_odd_names():
    assert file_version("python-dateutil-2.8.2.tar.gz")[0] == "python-dateutil"
    name, version = file_version("setuptools-0.6c11.zip")
    assert (name, str(version)) == ("setuptools", "0.6rc11")
    assert str(file_version("foursquare-1!2020.1.30-py3-none-any.whl")[1]) == "1!2020.1.30"
    assert file_version("PyYAML-3.10.win32-py2.7.exe") is None
    assert file_version("pkg-1.0-bad.whl") is None


def test_all_selects_the_versions_files_and_explicit_lists_report_missing():
    available = [
        "MarkupSafe-3.0.2-cp311-cp311-win32.whl",
        "markupsafe-3.0.2.tar.gz",
        "markupsafe-3.0.1.tar.gz",
        "MarkupSafe-3.0.2.win32.exe",
    ]
    every = Release("g", "MarkupSafe", "3.0.2", None)
    assert select_files(every, available) == (
        ["MarkupSafe-3.0.2-cp311-cp311-win32.whl", "markupsafe-3.0.2.tar.gz"],
        [],
    )
    named = Release("g", "MarkupSafe", "3.0.2", ("markupsafe-3.0.2.tar.gz", "gone-3.0.2.zip"))
    assert select_files(named, available) == (["markupsafe-3.0.2.tar.gz"], ["gone-3.0.2.zip"])
    assert select_files(Release("g", "x", "1", None), available) == ([], ["x-1 (no files)"])


def test_upload2_output_gives_each_files_verdict_and_the_commands_own_errors():
    stdout = "\n".join(
        [
            '{"event": "session", "message": "opened", "resumed": false}',
            '{"event": "file-done", "file": "a-1.0.tar.gz", "status": "error",'
            ' "notices": ["a-1.0/PKG-INFO: bad"]}',
            '{"event": "file-skipped", "file": "a-1.0-py3-none-any.whl", "status": "x"}',
            "not json",
        ]
    )
    stderr = (
        "wharf: a-1.0.tar.gz: a-1.0/PKG-INFO: bad\n"
        "wharf: HTTP 400: Invalid request: filename: nope\n"
        "a traceback line\n"
    )
    output = parse_upload2(stdout, stderr, ["a-1.0.tar.gz", "a-1.0-py3-none-any.whl"])
    assert output.verdicts == {
        "a-1.0.tar.gz": ("error", ["a-1.0/PKG-INFO: bad"]),
        "a-1.0-py3-none-any.whl": ("completed", []),
    }
    assert output.errors == ["HTTP 400: Invalid request: filename: nope"]
    assert not output.published
    done = parse_upload2('{"event": "published", "message": "m"}', "", [])
    assert done.published


TWINE_REFUSAL = """Uploading distributions to http://127.0.0.1:1/legacy/
\x1b[34mINFO    \x1b[0m files/six-1.17.0.tar.gz (33.2 KB)
Uploading six-1.17.0.tar.gz
INFO     Response from http://127.0.0.1:1/legacy/:
         400 Bad Request
INFO     400 Invalid distribution file: six-1.17.0/PKG-INFO: license-file:
         license-file introduced in metadata version 2.4, not 2.1

ERROR    HTTPError: 400 Bad Request from http://127.0.0.1:1/legacy/
         Bad Request
"""

TWINE_LOCAL = """Uploading distributions to http://127.0.0.1:1/legacy/
ERROR    InvalidDistribution: Invalid distribution metadata: classifier introduced
         in metadata version 1.1, not 1.0
"""


def test_twine_output_gives_the_servers_body_even_when_rich_wrapped_it():
    assert parse_twine(TWINE_REFUSAL) == (
        "400 Invalid distribution file: six-1.17.0/PKG-INFO: license-file: "
        "license-file introduced in metadata version 2.4, not 2.1"
    )
    assert not is_client_refusal(TWINE_REFUSAL)


def test_twine_refusing_a_file_itself_is_told_apart():
    assert is_client_refusal(TWINE_LOCAL)
    assert parse_twine(TWINE_LOCAL) == (
        "InvalidDistribution: Invalid distribution metadata: classifier introduced "
        "in metadata version 1.1, not 1.0"
    )


def test_core_metadata_is_read_from_wheels_sdists_and_zip_sdists(tmp_path):
    wheel = tmp_path / "acme_tools-1.0-py3-none-any.whl"
    wheel.write_bytes(wheel_bytes(metadata=metadata_text(extra=["License-File: LICENSE"])))
    sdist = tmp_path / "acme_tools-1.0.tar.gz"
    sdist.write_bytes(
        sdist_bytes(
            pkg_info=metadata_text(metadata_version="2.4", extra=["License-Expression: MIT"])
        )
    )
    zipped = tmp_path / "acme-tools-1.0.zip"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("acme-tools-1.0/PKG-INFO", metadata_text(metadata_version="1.0"))
        archive.writestr("acme-tools-1.0/sub/PKG-INFO", metadata_text(metadata_version="9.9"))
    zipped.write_bytes(buffer.getvalue())
    broken = tmp_path / "broken-1.0.tar.gz"
    broken.write_bytes(b"not gzip")
    assert coremeta.read(wheel) == coremeta.CoreMetadata("2.1", True, False)
    assert coremeta.read(sdist) == coremeta.CoreMetadata("2.4", False, True)
    assert coremeta.read(zipped) == coremeta.CoreMetadata("1.0", False, False)
    assert coremeta.read(broken) is None


def _results() -> Results:
    yaml, tools = "PyYAML==6.0.2", "setuptools==0.6c11"
    files = [
        FileFacts("pyyaml-6.0.2.tar.gz", "old", yaml, 1000, "2024-08-06T00:00Z", "2.1", True),
        FileFacts("PyYAML-6.0.2-cp311-cp311-win32.whl", "old", yaml, 2000, "2024-08-06", "2.1"),
        FileFacts("setuptools-0.6c11.tar.gz", "old", tools, 5_000_000, "2009-10-20", "1.0"),
    ]
    verdicts = [
        Verdict("pyyaml-6.0.2.tar.gz", UPLOAD2, ACCEPTED),
        Verdict(
            "PyYAML-6.0.2-cp311-cp311-win32.whl",
            UPLOAD2,
            REFUSED,
            "HTTP 400: The wheel's name part 'PyYAML' must be the normalised name 'pyyaml'.",
        ),
        Verdict("setuptools-0.6c11.tar.gz", UPLOAD2, ACCEPTED),
        Verdict("pyyaml-6.0.2.tar.gz", TWINE, REFUSED, "400 File already exists"),
        Verdict("PyYAML-6.0.2-cp311-cp311-win32.whl", TWINE, CLIENT, "InvalidDistribution: x"),
        Verdict("setuptools-0.6c11.tar.gz", TWINE, SKIPPED, "over the legacy API's 4 MiB limit"),
    ]
    installs = [InstallResult("yaml", "pip", True, 1.5, "PyYAML-6.0.2")]
    return Results("here", files, verdicts, installs, [], 3000, {"total": 12.0})


def test_the_report_counts_each_door_and_lists_every_refusal_with_its_reason():
    text = format_text(_results(), parse(LIST))
    assert "Upload 2.0 (wharf upload): accepted 2 / 3 (1 refused)" in text
    assert (
        "legacy API (twine 6.1): accepted 0 / 2 (1 refused; 1 refused by the client before "
        "sending; 1 over the 4 MiB legacy limit, not tried)"
    ) in text
    assert "  PyYAML-6.0.2-cp311-cp311-win32.whl [old]\n      HTTP 400: The wheel's name" in text
    assert "  pyyaml-6.0.2.tar.gz [old] [expected]\n      400 File already exists" in text
    assert "PyYAML-6.0.2-cp311-cp311-win32.whl: InvalidDistribution: x" in text
    assert "ok    pip  yaml (1.5 s)" in text
    assert "uploaded to PyPI 2009-2024: 2009: 1, 2024: 2" in text
    assert "core metadata versions: 1.0: 1, 2.1: 2; License-File before 2.4: 1" in text
    assert "unexpected refusals: 1;" in text


def test_only_unexpected_refusals_index_problems_and_failed_installs_fail_the_run():
    listed = parse(LIST)
    results = _results()
    assert failed(results, listed)
    results.verdicts = [v for v in results.verdicts if v.door == TWINE]
    assert not failed(results, listed)  # an expected refusal, a client's own, a skip
    results.installs.append(InstallResult("yaml", "uv", False, 0.1, "no match"))
    assert failed(results, listed)
    assert to_json(results, listed)["failed"] is True


def test_reason_kinds_blank_out_what_is_particular_to_a_file():
    one = reason_kind(
        "six-1.17.0/PKG-INFO: license-file introduced in metadata version 2.4, not 2.1"
    )
    two = reason_kind(
        "a_b-2.0.dist-info/METADATA: license-file introduced in metadata version 2.4, not 2.2"
    )
    assert one == two
    assert reason_kind(f"{one}; a; {one}") == reason_kind(f"a; {two}")


@dataclass(frozen=True)
class Local:
    filename: str
    client_release: tuple[str, str]
    size: int = 1


def test_batches_keep_projects_whole_and_start_with_the_most_bytes():
    files = [
        Local("a-1.whl", ("a", "1")),
        Local("a-1.tar.gz", ("a", "1")),
        Local("a-2.whl", ("a", "2")),
        Local("b-1.whl", ("b", "1"), size=100),
        Local("c-1.whl", ("c", "1")),
    ]
    assert [[f.filename for f in batch] for batch in plan.batches(files, 3)] == [
        ["b-1.whl"],
        ["a-1.whl", "a-1.tar.gz", "a-2.whl"],
        ["c-1.whl"],
    ]
    assert len(plan.batches(files, 10)) == 1


def test_the_install_stack_hosts_pinned_releases_and_whole_with_projects():
    spec = Install("r", ("requests==2.32.3",), with_=("idna",))
    files = [
        Local("requests-2.32.3.whl", ("requests", "2.32.3")),
        Local("requests-2.34.2.whl", ("requests", "2.34.2")),
        Local("idna-3.10.whl", ("idna", "3.10")),
        Local("idna-3.20.whl", ("idna", "3.20")),
        Local("six-1.17.0.whl", ("six", "1.17.0")),
    ]
    hosted = plan.install_files([spec], files)
    assert [f.filename for f in hosted] == [
        "requests-2.32.3.whl",
        "idna-3.10.whl",
        "idna-3.20.whl",
    ]
    assert plan.runnable(spec, hosted)
    assert not plan.runnable(Install("s", ("six==1.10.0",)), files)
