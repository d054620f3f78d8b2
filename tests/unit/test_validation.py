"""validate_distribution on real archives: old conventions accepted, hostile ones refused.

Every refusal is asserted by its rule code (docs/validation.md), which is the first word
of each notice.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import os
import re
import struct
import tarfile
import warnings
import zipfile
from pathlib import Path

import pytest
from packaging.version import Version

from chalicelib.domain.filenames import FilenameError, parse_filename, reservation_name
from chalicelib.domain.inspection.limits import Limits
from chalicelib.domain.inspection.rules import RULES, Severity
from chalicelib.domain.inspection.verdict import validate_distribution
from tests.builders import (
    metadata_text,
    pax_header_sdist,
    sdist_bytes,
    sdist_members,
    sha256,
    symlink_chain_sdist,
    tar_bytes,
    tar_member,
    wheel_bytes,
    wheel_with_data_descriptors,
    wheel_with_directory_data,
    wheel_with_gap,
    zip_sdist_bytes,
    zip_tar_polyglot,
)
from tests.fakes import BytesSource

WHEEL = "acme_tools-1.0-py3-none-any.whl"
SDIST = "acme_tools-1.0.tar.gz"
SMALL = Limits(ratio_floor_bytes=1024 * 1024)
MiB = 1024 * 1024


def check(
    data: bytes,
    filename: str = WHEEL,
    *,
    hashes=None,
    size=None,
    limits=SMALL,
    version="1.0",
    project="acme-tools",
):
    return validate_distribution(
        BytesSource(data),
        filename=filename,
        project=project,
        version=Version(version),
        declared_size=len(data) if size is None else size,
        declared_hashes=hashes or {"sha256": sha256(data)},
        limits=limits,
    )


def codes(notices: list[str]) -> set[str]:
    return {n.split(":", 1)[0] for n in notices}


def test_good_wheel():
    verdict = check(wheel_bytes())
    assert verdict.ok, verdict.notices
    assert verdict.warnings == []
    assert verdict.requires_python == ">=3.9"
    assert verdict.metadata.startswith(b"Metadata-Version: 2.1")
    assert verdict.digests["sha256"] == sha256(wheel_bytes())


def test_good_sdist():
    data = sdist_bytes()
    verdict = check(data, SDIST)
    assert verdict.ok, verdict.notices
    assert verdict.warnings == []
    assert b"Name: acme-tools" in verdict.metadata


def test_version_equal_as_pep440():
    data = wheel_bytes(version="1.0.0", metadata=metadata_text(version="1.0.0"))
    assert check(data, "acme_tools-1.0.0-py3-none-any.whl", version="1.0").ok


def test_every_declared_hash_is_checked():
    data = wheel_bytes()
    hashes = {"sha256": sha256(data), "blake2b": hashlib.blake2b(b"other").hexdigest()}
    verdict = check(data, hashes=hashes)
    assert not verdict.ok
    assert verdict.notices == ["hash-mismatch: the blake2b digest does not match the one declared"]


# --- conventions PyPI accepted (issue 10): accepted, with a warning where merely old --------


def _wheel_of(name: str, version: str, **options) -> bytes:
    return wheel_bytes(name, version, metadata=metadata_text(name, version, **options))


CONVENTIONS = {
    "PyYAML wheel": (
        "PyYAML-6.0.2-cp311-cp311-manylinux_2_17_x86_64.whl",
        "pyyaml",
        "6.0.2",
        _wheel_of("PyYAML", "6.0.2"),
        {"wheel-name-unnormalised"},
    ),
    "Flask wheel": (
        "Flask-1.1.4-py2.py3-none-any.whl",
        "flask",
        "1.1.4",
        _wheel_of("Flask", "1.1.4"),
        {"wheel-name-unnormalised"},
    ),
    "Jinja2 wheel": (
        "Jinja2-2.11.3-py2.py3-none-any.whl",
        "jinja2",
        "2.11.3",
        _wheel_of("Jinja2", "2.11.3"),
        {"wheel-name-unnormalised"},
    ),
    "python-dateutil sdist": (
        "python-dateutil-2.8.2.tar.gz",
        "python-dateutil",
        "2.8.2",
        sdist_bytes("python-dateutil", "2.8.2"),
        {"sdist-name-pre-pep625"},
    ),
    "MarkupSafe sdist": (
        "MarkupSafe-1.1.1.tar.gz",
        "markupsafe",
        "1.1.1",
        sdist_bytes(
            "MarkupSafe",
            "1.1.1",
            pkg_info=metadata_text(
                "MarkupSafe", "1.1.1", metadata_version="1.1", requires_python=None
            ),
        ),
        {"sdist-name-pre-pep625"},
    ),
    "zip sdist": (
        "acme-tools-1.0.zip",
        "acme-tools",
        "1.0",
        zip_sdist_bytes("acme-tools", "1.0"),
        {"sdist-zip"},
    ),
    "License-File in 2.1 (setuptools < 77, six 1.17.0)": (
        "six-1.17.0-py2.py3-none-any.whl",
        "six",
        "1.17.0",
        _wheel_of("six", "1.17.0", extra=["License-File: LICENSE"]),
        {"metadata-field-too-new"},
    ),
    "License-File in 2.2 sdist (python-dateutil 2.9.0.post0)": (
        "python-dateutil-2.9.0.post0.tar.gz",
        "python-dateutil",
        "2.9.0.post0",
        sdist_bytes(
            "python-dateutil",
            "2.9.0.post0",
            pkg_info=metadata_text(
                "python-dateutil",
                "2.9.0.post0",
                metadata_version="2.2",
                extra=["License-File: LICENSE"],
            ),
        ),
        {"sdist-name-pre-pep625", "metadata-field-too-new"},
    ),
    "Metadata-Version 2.0 (old bdist_wheel)": (
        WHEEL,
        "acme-tools",
        "1.0",
        wheel_bytes(metadata=metadata_text(metadata_version="2.0")),
        {"metadata-version-2.0"},
    ),
    "distutils UNKNOWN placeholders": (
        WHEEL,
        "acme-tools",
        "1.0",
        wheel_bytes(
            metadata=metadata_text(
                metadata_version="1.0",
                requires_python=None,
                extra=["Home-page: UNKNOWN", "Author-email: UNKNOWN", "License: UNKNOWN"],
            )
        ),
        {"metadata-placeholder"},
    ),
    "invalid Author-email in metadata 1.1 (Markdown 2.0)": (
        WHEEL,
        "acme-tools",
        "1.0",
        wheel_bytes(
            metadata=metadata_text(
                metadata_version="1.1",
                requires_python=None,
                extra=["Author-email: Yuri Takhteyev and Waylan Limberg"],
            )
        ),
        {"metadata-email-old"},
    ),
    "a linux_armv6l wheel (piwheels)": (
        "acme_tools-1.0-cp311-cp311-linux_armv6l.whl",
        "acme-tools",
        "1.0",
        wheel_bytes(
            wheel_file="Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: false\n"
            "Tag: cp311-cp311-linux_armv6l\n"
        ),
        set(),
    ),
    "unknown metadata field": (
        WHEEL,
        "acme-tools",
        "1.0",
        wheel_bytes(metadata=metadata_text(extra=["X-Secret: 1"])),
        {"metadata-unknown-field"},
    ),
    "deprecated classifier": (
        WHEEL,
        "acme-tools",
        "1.0",
        wheel_bytes(metadata=metadata_text(extra=["Classifier: Natural Language :: Ukranian"])),
        {"metadata-classifier-deprecated"},
    ),
    "top directory spelled before PEP 625": (
        SDIST,
        "acme-tools",
        "1.0",
        sdist_bytes(top="acme-tools-1.0"),
        {"sdist-top-dir-unnormalised"},
    ),
    "deflated members with data descriptors": (
        WHEEL,
        "acme-tools",
        "1.0",
        wheel_with_data_descriptors(),
        {"zip-data-descriptor"},
    ),
}


@pytest.mark.parametrize("case", sorted(CONVENTIONS))
def test_conventions_pypi_accepted(case):
    filename, project, version, data, expected = CONVENTIONS[case]
    verdict = check(data, filename, project=project, version=version)
    assert verdict.ok, verdict.notices
    assert codes(verdict.warnings) == expected, verdict.warnings
    assert all(RULES[c].severity is Severity.WARN for c in codes(verdict.warnings))


def test_real_looking_metadata_is_accepted():
    """Fields real releases carry: classifiers, e-mails, URLs, extras, dynamic, license."""
    text = metadata_text(
        metadata_version="2.4",
        requires=["requests>=2", "rich; extra == 'cli'"],
        extra=[
            "Author-email: Jane Doe <jane@example.org>, ops@example.co.uk",
            "Maintainer-email: dev@xn--bcher-kva.example",
            "Classifier: Programming Language :: Python :: 3",
            "Classifier: License :: OSI Approved :: MIT License",
            "Project-URL: Source, https://example.org/src",
            "Home-page: https://example.org",
            "Provides-Extra: cli",
            "License-Expression: MIT",
            "License-File: LICENSE",
            "Dynamic: Classifier",
        ],
    )
    data = wheel_bytes(metadata=text, files={"acme_tools-1.0.dist-info/licenses/LICENSE": b"MIT\n"})
    verdict = check(data)
    assert verdict.ok, verdict.notices
    assert verdict.warnings == []


# --- refusals ------------------------------------------------------------------------------


def zip_with(entries: list[tuple[zipfile.ZipInfo | str, bytes]], comment: bytes = b"") -> bytes:
    buffer = io.BytesIO()
    with warnings.catch_warnings(), zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        warnings.simplefilter("ignore")  # duplicate names are the point of one case
        for info, data in entries:
            zf.writestr(info, data)
        zf.comment = comment
    return buffer.getvalue()


def good_entries() -> list[tuple[str, bytes]]:
    with zipfile.ZipFile(io.BytesIO(wheel_bytes())) as zf:
        return [(i.filename, zf.read(i)) for i in zf.infolist()]


def with_mode(name: str, mode: int) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.external_attr = mode << 16
    return info


def bomb_wheel() -> bytes:
    return wheel_bytes(files={"acme_tools/zeros.bin": b"\0" * (4 * MiB)})


def tampered_member() -> bytes:
    data = bytearray(wheel_bytes(compression=zipfile.ZIP_STORED))
    at = data.index(b"VALUE = 1")
    data[at : at + 5] = b"VALUX"
    return bytes(data)


def undecodable_member() -> bytes:
    """A deflated member whose stream starts with an invalid block type (zlib.error)."""
    data = bytearray(wheel_bytes(files={"acme_tools/data.txt": b"x" * 10_000}))
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as zf:
        at = zf.getinfo("acme_tools/data.txt").header_offset
    name_len, extra_len = struct.unpack("<HH", data[at + 26 : at + 30])
    start = at + 30 + name_len + extra_len
    data[start : start + 4] = b"\xff" * 4
    return bytes(data)


# A member read in several chunks (inspection/limits.py CHUNK is 1 MiB).
LARGE = 3 * 1024 * 1024  # under http-post-bytes' 4 MiB: tests/app sends these cases too


def tampered_large_member() -> bytes:
    blob = bytes(LARGE)
    data = bytearray(
        wheel_bytes(files={"acme_tools/blob.bin": blob}, compression=zipfile.ZIP_STORED)
    )
    at = data.index(blob) + LARGE // 2
    data[at] = 1
    return bytes(data)


def metadata_wheel(**options) -> bytes:
    return wheel_bytes(metadata=metadata_text(**options))


DIST_INFO = "acme_tools-1.0.dist-info"

# (data, validate options, the rule code expected among the notices)
WHEEL_CASES = {
    "size mismatch": (wheel_bytes(), {"size": 5}, "size-mismatch"),
    "hash mismatch": (wheel_bytes(), {"hashes": {"sha256": "0" * 64}}, "hash-mismatch"),
    "not a zip": (b"hello world, not a zip", {}, "zip-format"),
    "gzip renamed as wheel": (sdist_bytes(), {}, "zip-format"),
    "truncated zip": (wheel_bytes()[:-30], {}, "zip-framing"),
    "trailing data": (wheel_bytes() + b"extra", {}, "zip-framing"),
    "prepended data": (b"MZ" + wheel_bytes(), {}, "zip-format"),
    "zip comment": (zip_with(good_entries(), comment=b"hidden"), {}, "zip-framing"),
    "bytes hidden between members": (wheel_with_gap(), {}, "zip-framing"),
    "bytes hidden in a directory entry": (wheel_with_directory_data(), {}, "zip-framing"),
    "stored member with a data descriptor": (
        wheel_with_data_descriptors(zipfile.ZIP_STORED),
        {},
        "zip-framing",
    ),
    "zip that is also a tar": (zip_tar_polyglot(), {}, "archive-polyglot"),
    "absolute path": (zip_with([*good_entries(), ("/etc/passwd", b"x")]), {}, "member-path"),
    "dot-dot path": (zip_with([*good_entries(), ("../evil.py", b"x")]), {}, "member-path"),
    "backslash path": (zip_with([*good_entries(), ("a\\b.py", b"x")]), {}, "member-path"),
    "symlink member": (
        zip_with([*good_entries(), (with_mode("acme_tools/link", 0o120777), b"/etc")]),
        {},
        "member-type",
    ),
    "device member": (
        zip_with([*good_entries(), (with_mode("acme_tools/dev", 0o020644), b"")]),
        {},
        "member-type",
    ),
    "duplicate member": (
        zip_with([*good_entries(), ("acme_tools/__init__.py", b"evil")]),
        {},
        "member-duplicate",
    ),
    "zip bomb": (bomb_wheel(), {}, "archive-bomb"),
    "two dist-info": (
        wheel_bytes(files={"other-1.0.dist-info/METADATA": b"x"}),
        {},
        "wheel-layout",
    ),
    "no dist-info": (
        zip_with([(n, d) for n, d in good_entries() if ".dist-info" not in n]),
        {},
        "wheel-layout",
    ),
    "dist-info of another project": (
        wheel_bytes(dist_info="other-1.0.dist-info"),
        {},
        "wheel-layout",
    ),
    "missing WHEEL": (wheel_bytes(wheel_file=None), {}, "wheel-layout"),
    "missing RECORD": (wheel_bytes(omit=[f"{DIST_INFO}/RECORD"]), {}, "wheel-layout"),
    "Wheel-Version 2": (
        wheel_bytes(wheel_file="Wheel-Version: 2.0\nRoot-Is-Purelib: true\n"),
        {},
        "wheel-file",
    ),
    "metadata name mismatch": (metadata_wheel(name="other"), {}, "metadata-name"),
    "metadata version mismatch": (metadata_wheel(version="2.0"), {}, "metadata-release"),
    "metadata-version 3.0": (metadata_wheel(metadata_version="3.0"), {}, "metadata-version"),
    "invalid metadata field": (
        metadata_wheel(requires_python="not a specifier"),
        {},
        "metadata-invalid",
    ),
    "oversized metadata": (
        wheel_bytes(metadata=metadata_text() + base64.b64encode(os.urandom(3 << 20)).decode()),
        {},
        "archive-memory",
    ),
    "RECORD hash mismatch": (
        wheel_bytes(record_overrides={"acme_tools/__init__.py": "sha256=AAAA"}),
        {},
        "wheel-record",
    ),
    "md5 in RECORD": (
        wheel_bytes(
            record_overrides={
                "acme_tools/__init__.py": "md5="
                + base64.urlsafe_b64encode(hashlib.md5(b"VALUE = 1\n").digest()).decode()
            }
        ),
        {},
        "wheel-record-hash",
    ),
    "member not in RECORD": (
        wheel_bytes(unlisted={"acme_tools/sneaky.py": b"x"}),
        {},
        "wheel-record",
    ),
    "corrupted member bytes": (tampered_member(), {}, "zip-member-corrupt"),
    "undecodable deflate stream": (undecodable_member(), {}, "zip-member-corrupt"),
    "RECORD hash mismatch, large member": (
        wheel_bytes(
            files={"acme_tools/blob.bin": os.urandom(LARGE)},
            record_overrides={"acme_tools/blob.bin": "sha256=AAAA"},
        ),
        {},
        "wheel-record",
    ),
    "corrupted bytes of a large member": (tampered_large_member(), {}, "zip-member-corrupt"),
    "broken entry_points.txt": (
        wheel_bytes(files={f"{DIST_INFO}/entry_points.txt": b"[console_scripts\nx = y:z\n"}),
        {},
        "wheel-entry-points",
    ),
    "script name with a path": (
        wheel_bytes(files={f"{DIST_INFO}/entry_points.txt": b"[console_scripts]\n../x = y:z\n"}),
        {},
        "wheel-entry-points",
    ),
    "direct URL in Requires-Dist": (
        metadata_wheel(requires=["evil @ https://example.org/evil-1.0-py3-none-any.whl"]),
        {},
        "metadata-direct-reference",
    ),
    "direct URL in Provides-Dist": (
        metadata_wheel(extra=["Provides-Dist: evil @ https://example.org/evil.tar.gz"]),
        {},
        "metadata-direct-reference",
    ),
    "Summary over 512 characters": (metadata_wheel(summary="x" * 513), {}, "metadata-summary"),
    "unknown classifier": (
        metadata_wheel(extra=["Classifier: Framework :: Made Up"]),
        {},
        "metadata-classifier",
    ),
    "invalid Author-email": (
        metadata_wheel(extra=["Author-email: jane at example dot org"]),
        {},
        "metadata-email",
    ),
    "Maintainer-email without a domain dot": (
        metadata_wheel(extra=["Maintainer-email: root@localhost"]),
        {},
        "metadata-email",
    ),
    "Home-page not a URL": (
        metadata_wheel(extra=["Home-page: javascript:alert(1)"]),
        {},
        "metadata-url",
    ),
    "Project-URL label over 32": (
        metadata_wheel(extra=[f"Project-URL: {'L' * 33}, https://example.org"]),
        {},
        "metadata-url",
    ),
    "License and License-Expression": (
        metadata_wheel(metadata_version="2.4", extra=["License: MIT", "License-Expression: MIT"]),
        {},
        "metadata-license",
    ),
    "License-File missing (2.4)": (
        metadata_wheel(metadata_version="2.4", extra=["License-File: LICENSE"]),
        {},
        "metadata-license-file",
    ),
}


@pytest.mark.parametrize("case", sorted(WHEEL_CASES))
def test_bad_wheels(case):
    data, options, code = WHEEL_CASES[case]
    verdict = check(data, **options)
    assert not verdict.ok
    assert code in codes(verdict.notices), verdict.notices


def tar_gz(members: list[tuple[tarfile.TarInfo, bytes]]) -> bytes:
    return gzip.compress(tar_bytes(members))


ROOT = "acme_tools-1.0"
PKG_INFO = tar_member(f"{ROOT}/PKG-INFO", metadata_text(metadata_version="2.2").encode())


def _global_pax_path() -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(
        fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT, pax_headers={"path": "/etc/x"}
    ) as tar:
        for info, data in sdist_members():
            tar.addfile(info, io.BytesIO(data))
    return gzip.compress(buffer.getvalue())


SDIST_CASES = {
    "not gzip": (b"plain text", "gzip-format"),
    "gzip but not tar": (gzip.compress(b"not a tar at all" * 100), "tar-format"),
    "zip renamed as sdist": (wheel_bytes(), "gzip-format"),
    "truncated gzip": (sdist_bytes()[:-20], "gzip-format"),
    "empty tar": (tar_gz([]), "sdist-layout"),
    "two top dirs": (sdist_bytes(extra=[tar_member("other/file", b"x")]), "sdist-layout"),
    "top dir of another release": (sdist_bytes(top="other-1.0"), "sdist-layout"),
    "no PKG-INFO": (sdist_bytes(include_pkg_info=False), "sdist-pkg-info"),
    "absolute member": (sdist_bytes(extra=[tar_member("/etc/passwd", b"x")]), "member-path"),
    "dot-dot member": (sdist_bytes(extra=[tar_member(f"{ROOT}/../../x", b"x")]), "member-path"),
    "symlink outside": (
        sdist_bytes(
            extra=[tar_member(f"{ROOT}/link", type=tarfile.SYMTYPE, linkname="../../etc/passwd")]
        ),
        "sdist-link",
    ),
    "absolute symlink": (
        sdist_bytes(extra=[tar_member(f"{ROOT}/link", type=tarfile.SYMTYPE, linkname="/etc")]),
        "sdist-link",
    ),
    "symlink chain": (symlink_chain_sdist(), "sdist-link"),
    "symlink through a symlink": (
        sdist_bytes(
            extra=[
                tar_member(f"{ROOT}/a", type=tarfile.SYMTYPE, linkname="."),
                tar_member(f"{ROOT}/b", type=tarfile.SYMTYPE, linkname="a/../.."),
            ]
        ),
        "sdist-link",
    ),
    "file unpacked through a symlink": (
        sdist_bytes(
            extra=[
                tar_member(f"{ROOT}/sub", type=tarfile.SYMTYPE, linkname="."),
                tar_member(f"{ROOT}/SUB/x.py", b"x"),
            ]
        ),
        "sdist-link",
    ),
    "symlink loop": (
        sdist_bytes(
            extra=[
                tar_member(f"{ROOT}/a", type=tarfile.SYMTYPE, linkname="b"),
                tar_member(f"{ROOT}/b", type=tarfile.SYMTYPE, linkname="a/x"),
            ]
        ),
        "sdist-link",
    ),
    "hardlink outside": (
        sdist_bytes(extra=[tar_member(f"{ROOT}/hard", type=tarfile.LNKTYPE, linkname="etc/x")]),
        "sdist-link",
    ),
    "device member": (
        sdist_bytes(extra=[tar_member(f"{ROOT}/dev", type=tarfile.CHRTYPE)]),
        "member-type",
    ),
    "fifo member": (
        sdist_bytes(extra=[tar_member(f"{ROOT}/fifo", type=tarfile.FIFOTYPE)]),
        "member-type",
    ),
    "duplicate member": (
        sdist_bytes(extra=[tar_member(f"{ROOT}/PKG-INFO", b"Metadata-Version: 2.2\n")]),
        "member-duplicate",
    ),
    "metadata name mismatch": (
        sdist_bytes(pkg_info=metadata_text(name="other", metadata_version="2.2")),
        "metadata-name",
    ),
    "gzip bomb": (
        sdist_bytes(extra=[tar_member(f"{ROOT}/zeros", b"\0" * (4 * MiB))]),
        "archive-bomb",
    ),
    "PAX header over the cap": (pax_header_sdist(2 * MiB), "tar-header-size"),
    "global PAX header renaming every member": (_global_pax_path(), "tar-format"),
    "too many members": (
        tar_gz([PKG_INFO, *[tar_member(f"{ROOT}/f{i}", b"") for i in range(60)]]),
        "archive-members",
    ),
    "zip-tar polyglot": (sdist_bytes() + wheel_bytes(), "gzip-trailing-data"),
    "trailing garbage": (sdist_bytes() + b"garbage", "gzip-trailing-data"),
    "second gzip member": (sdist_bytes() + gzip.compress(b"more"), "gzip-trailing-data"),
    "data after the end of the tar": (sdist_bytes(after=b"HIDDEN"), "tar-trailing-data"),
    "License-File missing (2.4)": (
        sdist_bytes(
            pkg_info=metadata_text(metadata_version="2.4", extra=["License-File: LICENSE"])
        ),
        "metadata-license-file",
    ),
}


@pytest.mark.parametrize("case", sorted(SDIST_CASES))
def test_bad_sdists(case):
    data, code = SDIST_CASES[case]
    limits = Limits(ratio_floor_bytes=1024 * 1024, max_members=50)
    verdict = check(data, SDIST, limits=limits)
    assert not verdict.ok
    assert code in codes(verdict.notices), verdict.notices


def test_tar_gz_that_is_also_a_zip_inside_the_gzip_stream():
    """A zip whose end record is readable at the end of the raw file (stored deflate blocks
    could carry one) is refused even when the gzip stream itself is sound."""
    verdict = check(sdist_bytes(after=wheel_bytes()), SDIST)
    assert {"tar-trailing-data"} <= codes(verdict.notices)


def test_pax_headers_count_towards_the_bomb_budget():
    """127 KiB of gzip holding a 128 MiB PAX header (issue 11) is a bomb, even when the
    header cap is raised: headers are decompressed bytes like any other."""
    limits = Limits(ratio_floor_bytes=1 * MiB, max_tar_header_bytes=64 * MiB)
    data = pax_header_sdist(8 * MiB)
    assert len(data) < 64 * 1024
    verdict = check(data, SDIST, limits=limits)
    assert codes(verdict.notices) == {"archive-bomb"}, verdict.notices


def test_links_that_stay_inside_are_accepted():
    extra = [
        tar_member(f"{ROOT}/docs", type=tarfile.DIRTYPE, mode=0o755),
        tar_member(f"{ROOT}/docs/README.md", b"# hi\n"),
        tar_member(f"{ROOT}/README.md", type=tarfile.SYMTYPE, linkname="docs/README.md"),
        tar_member(f"{ROOT}/docs/up", type=tarfile.SYMTYPE, linkname=".."),
        tar_member(f"{ROOT}/copy.md", type=tarfile.LNKTYPE, linkname=f"{ROOT}/docs/README.md"),
    ]
    verdict = check(sdist_bytes(extra=extra), SDIST)
    assert verdict.ok, verdict.notices


def test_memory_budget_stops_an_archive_of_many_names():
    members = [PKG_INFO, *[tar_member(f"{ROOT}/{'n' * 200}{i}", b"") for i in range(200)]]
    verdict = check(tar_gz(members), SDIST, limits=Limits(max_held_bytes=32 * 1024))
    assert codes(verdict.notices) == {"archive-memory"}, verdict.notices


def test_zip_sdist_problems():
    assert (
        check(zip_sdist_bytes(top="other-1.0"), "acme_tools-1.0.zip")
        .notices[0]
        .startswith("sdist-layout")
    )
    assert "zip-framing" in codes(check(zip_sdist_bytes() + b"x", "acme_tools-1.0.zip").notices)


@pytest.mark.parametrize(
    ("filename", "code"),
    [
        ("acme_tools-1.0.egg", "filename-format"),
        ("acme_tools-1.0.tar.bz2", "filename-format"),
        ("acme_tools-1.0-py3-none-any.whl.exe", "filename-format"),
        ("acme_tools.tar.gz", "sdist-filename"),
        ("acme_tools-1.0-py3-any.whl", "wheel-filename"),
        ("other-1.0-py3-none-any.whl", "filename-project"),
        ("acme_tools-2.0-py3-none-any.whl", "filename-version"),
        ("acme_tools-1.0-py3-none-weird_platform.whl", "wheel-platform-tag"),
        ("acme_tools-1.0-py3-none-any\n.whl", "filename-invalid"),
    ],
)
def test_filename_problems(filename, code):
    verdict = check(wheel_bytes(), filename)
    assert not verdict.ok
    assert codes(verdict.notices) == {code}, verdict.notices


def test_local_versions_are_refused_unless_allowed():
    data = wheel_bytes(version="1.0+evil", metadata=metadata_text(version="1.0+evil"))
    name = "acme_tools-1.0+evil-py3-none-any.whl"
    assert codes(check(data, name, version="1.0+evil").notices) == {"local-version"}
    allowed = Limits(ratio_floor_bytes=MiB, allow_local_versions=True)
    assert check(data, name, version="1.0+evil", limits=allowed).ok


def test_record_mismatch_only_warns_when_not_enforced():
    data = wheel_bytes(record_overrides={"acme_tools/__init__.py": "sha256=AAAA"})
    verdict = check(data, limits=Limits(enforce_record=False))
    assert verdict.ok
    assert verdict.warnings[0].startswith("wheel-record: RECORD hashes do not match")


def test_old_sdist_filename_with_a_hyphenated_version():
    dist = parse_filename("acme-tools-1.0-1.tar.gz", "acme-tools")
    assert (dist.project, str(dist.version)) == ("acme-tools", "1.0.post1")
    with pytest.raises(FilenameError):
        parse_filename("acme-tools.tar.gz")


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("foo-1.0-py3-none-any.whl", "foo-1.0.0-py3-none-any.whl"),
        ("foo-1.0-py3-none-any.whl", "Foo-1-py3-none-any.whl"),
        ("foo-1.0.tar.gz", "foo-1.0.0.tar.gz"),
        ("foo-1.0.zip", "Foo-1.0.0.zip"),
        ("python_dateutil-2.8.2.tar.gz", "python-dateutil-2.8.2.tar.gz"),
    ],
)
def test_equivalent_spellings_share_a_reservation(one, other):
    assert reservation_name(one) == reservation_name(other)
    assert reservation_name(reservation_name(other)) == reservation_name(other)


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("foo-1.0-py3-none-any.whl", "foo-1.0-cp311-cp311-win_amd64.whl"),
        ("foo-1.0-py3-none-any.whl", "foo-1.0-1-py3-none-any.whl"),
        ("foo-1.0-py3-none-any.whl", "foo-1.0.1-py3-none-any.whl"),
        ("foo-1.0.tar.gz", "foo-1.0-py3-none-any.whl"),
        # PyPI took a .tar.gz and a .zip of one release (docutils, Markdown, ... before
        # 2020); a mirror of those releases needs both.
        ("foo-1.0.tar.gz", "foo-1.0.zip"),
    ],
)
def test_different_files_have_different_reservations(one, other):
    assert reservation_name(one) != reservation_name(other)


def test_every_rule_is_in_the_docs_table():
    docs = (Path(__file__).parents[2] / "docs" / "validation.md").read_text()
    documented = set(re.findall(r"^\| `([a-z0-9.-]+)` \|", docs, re.MULTILINE))
    assert documented == set(RULES)
