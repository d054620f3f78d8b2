"""validate_distribution on real archives, good and hostile."""

from __future__ import annotations

import base64
import gzip
import io
import os
import tarfile
import warnings
import zipfile

import pytest
from packaging.version import Version

from chalicelib.domain.inspection.limits import Limits
from chalicelib.domain.inspection.verdict import validate_distribution
from tests.builders import metadata_text, sdist_bytes, sha256, tar_member, wheel_bytes
from tests.fakes import BytesSource

WHEEL = "acme_tools-1.0-py3-none-any.whl"
SDIST = "acme_tools-1.0.tar.gz"
SMALL = Limits(ratio_floor_bytes=1024 * 1024)


def check(
    data: bytes, filename: str = WHEEL, *, hashes=None, size=None, limits=SMALL, version="1.0"
):
    return validate_distribution(
        BytesSource(data),
        filename=filename,
        project="acme-tools",
        version=Version(version),
        declared_size=len(data) if size is None else size,
        declared_hashes=hashes or {"sha256": sha256(data)},
        limits=limits,
    )


def test_good_wheel():
    verdict = check(wheel_bytes())
    assert verdict.ok, verdict.notices
    assert verdict.requires_python == ">=3.9"
    assert verdict.metadata.startswith(b"Metadata-Version: 2.1")
    assert verdict.digests["sha256"] == sha256(wheel_bytes())


def test_good_sdist():
    data = sdist_bytes()
    verdict = check(data, SDIST)
    assert verdict.ok, verdict.notices
    assert b"Name: acme-tools" in verdict.metadata


def test_version_equal_as_pep440():
    data = wheel_bytes(version="1.0.0", metadata=metadata_text(version="1.0.0"))
    assert check(data, "acme_tools-1.0.0-py3-none-any.whl", version="1.0").ok


def test_every_declared_hash_is_checked():
    import hashlib

    data = wheel_bytes()
    hashes = {"sha256": sha256(data), "blake2b": hashlib.blake2b(b"other").hexdigest()}
    verdict = check(data, hashes=hashes)
    assert not verdict.ok
    assert verdict.notices == ["the blake2b digest does not match the one declared"]


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
    return wheel_bytes(files={"acme_tools/zeros.bin": b"\0" * (4 * 1024 * 1024)})


def tampered_member() -> bytes:
    data = bytearray(wheel_bytes(compression=zipfile.ZIP_STORED))
    at = data.index(b"VALUE = 1")
    data[at : at + 5] = b"VALUX"
    return bytes(data)


def sdist_with_gzip(payload: bytes) -> bytes:
    return gzip.compress(payload)


WHEEL_CASES = {
    "size mismatch": (wheel_bytes(), {"size": 5}, "were declared"),
    "hash mismatch": (wheel_bytes(), {"hashes": {"sha256": "0" * 64}}, "sha256 digest"),
    "not a zip": (b"hello world, not a zip", {}, "not a zip archive"),
    "gzip renamed as wheel": (sdist_bytes(), {}, "not a zip archive"),
    "truncated zip": (wheel_bytes()[:-30], {}, "zip"),
    "trailing data": (wheel_bytes() + b"extra", {}, "data after the end"),
    "prepended data": (b"MZ" + wheel_bytes(), {}, "not a zip archive"),
    "zip comment": (zip_with(good_entries(), comment=b"hidden"), {}, "comment"),
    "absolute path": (zip_with([*good_entries(), ("/etc/passwd", b"x")]), {}, "absolute"),
    "dot-dot path": (zip_with([*good_entries(), ("../evil.py", b"x")]), {}, "'..'"),
    "backslash path": (zip_with([*good_entries(), ("a\\b.py", b"x")]), {}, "'\\'"),
    "symlink member": (
        zip_with([*good_entries(), (with_mode("acme_tools/link", 0o120777), b"/etc")]),
        {},
        "link or device",
    ),
    "device member": (
        zip_with([*good_entries(), (with_mode("acme_tools/dev", 0o020644), b"")]),
        {},
        "link or device",
    ),
    "duplicate member": (
        zip_with([*good_entries(), ("acme_tools/__init__.py", b"evil")]),
        {},
        "duplicate",
    ),
    "zip bomb": (bomb_wheel(), {}, "bomb"),
    "two dist-info": (
        wheel_bytes(files={"other-1.0.dist-info/METADATA": b"x"}),
        {},
        "exactly one",
    ),
    "no dist-info": (
        zip_with([(n, d) for n, d in good_entries() if ".dist-info" not in n]),
        {},
        "exactly one",
    ),
    "dist-info of another project": (
        wheel_bytes(dist_info="other-1.0.dist-info"),
        {},
        "does not match",
    ),
    "missing WHEEL": (wheel_bytes(wheel_file=None), {}, "lacks"),
    "missing RECORD": (wheel_bytes(omit=["acme_tools-1.0.dist-info/RECORD"]), {}, "lacks"),
    "Wheel-Version 2": (
        wheel_bytes(wheel_file="Wheel-Version: 2.0\nRoot-Is-Purelib: true\n"),
        {},
        "not 1.x",
    ),
    "metadata name mismatch": (
        wheel_bytes(metadata=metadata_text(name="other")),
        {},
        "does not match the project",
    ),
    "metadata version mismatch": (
        wheel_bytes(metadata=metadata_text(version="2.0")),
        {},
        "does not match the release",
    ),
    "metadata-version 2.0": (
        wheel_bytes(metadata=metadata_text(metadata_version="2.0")),
        {},
        "metadata",
    ),
    "invalid metadata field": (
        wheel_bytes(metadata=metadata_text(requires_python="not a specifier")),
        {},
        "requires-python",
    ),
    "unknown metadata field": (
        wheel_bytes(metadata=metadata_text(extra=["X-Secret: 1"])),
        {},
        "unrecognized",
    ),
    "oversized metadata": (
        wheel_bytes(metadata=metadata_text() + base64.b64encode(os.urandom(3 << 20)).decode()),
        {},
        "at most",
    ),
    "RECORD hash mismatch": (
        wheel_bytes(record_overrides={"acme_tools/__init__.py": "sha256=AAAA"}),
        {},
        "RECORD hashes do not match",
    ),
    "member not in RECORD": (
        wheel_bytes(unlisted={"acme_tools/sneaky.py": b"x"}),
        {},
        "missing from RECORD",
    ),
    "corrupted member bytes": (tampered_member(), {}, "corrupt"),
}


@pytest.mark.parametrize("case", sorted(WHEEL_CASES))
def test_bad_wheels(case):
    data, options, fragment = WHEEL_CASES[case]
    verdict = check(data, **options)
    assert not verdict.ok
    assert fragment.lower() in " | ".join(verdict.notices).lower(), verdict.notices


def tar_gz(members: list[tuple[tarfile.TarInfo, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if info.isreg() else None)
    return buffer.getvalue()


ROOT = "acme_tools-1.0"
PKG_INFO = tar_member(f"{ROOT}/PKG-INFO", metadata_text(metadata_version="2.2").encode())

SDIST_CASES = {
    "not gzip": (b"plain text", "gzip"),
    "gzip but not tar": (sdist_with_gzip(b"not a tar at all" * 100), "tar"),
    "zip renamed as sdist": (wheel_bytes(), "gzip"),
    "empty tar": (tar_gz([]), "empty"),
    "two top dirs": (sdist_bytes(extra=[tar_member("other/file", b"x")]), "single top-level"),
    "wrong top dir": (sdist_bytes(top="acme-tools-1.0"), "single top-level"),
    "no PKG-INFO": (sdist_bytes(include_pkg_info=False), "lacks"),
    "absolute member": (sdist_bytes(extra=[tar_member("/etc/passwd", b"x")]), "absolute"),
    "dot-dot member": (sdist_bytes(extra=[tar_member(f"{ROOT}/../../x", b"x")]), "'..'"),
    "symlink outside": (
        sdist_bytes(
            extra=[tar_member(f"{ROOT}/link", type=tarfile.SYMTYPE, linkname="../../etc/passwd")]
        ),
        "points outside",
    ),
    "absolute symlink": (
        sdist_bytes(extra=[tar_member(f"{ROOT}/link", type=tarfile.SYMTYPE, linkname="/etc")]),
        "points outside",
    ),
    "hardlink outside": (
        sdist_bytes(extra=[tar_member(f"{ROOT}/hard", type=tarfile.LNKTYPE, linkname="etc/x")]),
        "points outside",
    ),
    "device member": (
        sdist_bytes(extra=[tar_member(f"{ROOT}/dev", type=tarfile.CHRTYPE)]),
        "device",
    ),
    "fifo member": (
        sdist_bytes(extra=[tar_member(f"{ROOT}/fifo", type=tarfile.FIFOTYPE)]),
        "device",
    ),
    "metadata name mismatch": (
        sdist_bytes(pkg_info=metadata_text(name="other", metadata_version="2.2")),
        "does not match the project",
    ),
    "gzip bomb": (
        sdist_bytes(extra=[tar_member(f"{ROOT}/zeros", b"\0" * (4 * 1024 * 1024))]),
        "bomb",
    ),
    "too many members": (
        tar_gz([PKG_INFO, *[tar_member(f"{ROOT}/f{i}", b"") for i in range(60)]]),
        "members",
    ),
    "zip-tar polyglot": (sdist_bytes() + wheel_bytes(), "also a valid zip"),
}


@pytest.mark.parametrize("case", sorted(SDIST_CASES))
def test_bad_sdists(case):
    data, fragment = SDIST_CASES[case]
    limits = Limits(ratio_floor_bytes=1024 * 1024, max_members=50)
    verdict = check(data, SDIST, limits=limits)
    assert not verdict.ok
    assert fragment.lower() in " | ".join(verdict.notices).lower(), verdict.notices


@pytest.mark.parametrize(
    ("filename", "fragment"),
    [
        ("acme_tools-1.0.zip", "neither a wheel"),
        ("acme-tools-1.0.tar.gz", "expected"),
        ("Acme_Tools-1.0-py3-none-any.whl", "normalised name"),
        ("acme_tools-1.0-py3-none-any.whl.exe", "neither"),
        ("other-1.0-py3-none-any.whl", "not 'acme-tools'"),
        ("acme_tools-2.0-py3-none-any.whl", "not 1.0"),
        ("acme_tools-1.0-py3-none-weird_platform.whl", "platform"),
    ],
)
def test_filename_problems(filename, fragment):
    verdict = check(wheel_bytes(), filename)
    assert not verdict.ok
    assert fragment in verdict.notices[0]


def test_record_mismatch_only_warns_when_not_enforced():
    data = wheel_bytes(record_overrides={"acme_tools/__init__.py": "sha256=AAAA"})
    verdict = check(data, limits=Limits(enforce_record=False))
    assert verdict.ok
    assert "RECORD hashes do not match" in verdict.warnings[0]
