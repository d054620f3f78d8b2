"""A zip is hashed as its inspection reads it: the digest is the whole file's, in order,
whatever the inspection read, skipped or stopped at."""

from __future__ import annotations

import hashlib
import io
import os
import random
import zipfile

import pytest
from packaging.version import Version

from chalicelib.domain.hashes import MultiHasher
from chalicelib.domain.inspection.in_order import InOrderHasher
from chalicelib.domain.inspection.limits import Limits
from chalicelib.domain.inspection.sources import BytesSource
from chalicelib.domain.inspection.verdict import validate_distribution
from tests.builders import (
    Pipe,
    wheel_bytes,
    wheel_with_data_descriptors,
    wheel_with_directory_data,
    wheel_with_gap,
    zip_sdist_bytes,
    zip_tar_polyglot,
)

WHEEL = "acme_tools-1.0-py3-none-any.whl"


class CountingSource(BytesSource):
    """Counts the bytes the inspection took from the file."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.read = 0

    def stream(self):
        raise AssertionError("a zip that is not spooled is read once, through random access")

    def random_access(self):
        source = self

        class Counting(io.BytesIO):
            def read(self, size=-1):
                data = super().read(size)
                source.read += len(data)
                return data

        return Counting(self._data)


def verdict_of(data: bytes, filename: str = WHEEL, declared: str | None = None):
    source = CountingSource(data)
    verdict = validate_distribution(
        source,
        filename=filename,
        project="acme-tools",
        version=Version("1.0"),
        declared_size=len(data),
        declared_hashes={"sha256": declared or hashlib.sha256(data).hexdigest()},
        limits=Limits(),
    )
    return verdict, source.read


def big_wheel() -> bytes:
    files = {f"acme_tools/blob{i}.bin": os.urandom(256 * 1024) for i in range(8)}
    return wheel_bytes(files=files, compression=zipfile.ZIP_STORED)


@pytest.mark.parametrize(
    "data",
    [
        big_wheel(),
        wheel_bytes(),
        wheel_with_data_descriptors(),
        wheel_with_directory_data(),
        wheel_with_gap(),
        zip_tar_polyglot(),
        wheel_bytes()[:-100],  # truncated: inspection stops at the end record
        b"PK\x03\x04" + os.urandom(5000),  # not a zip past its first bytes
    ],
    ids=["big", "plain", "descriptors", "directory-data", "gap", "polyglot", "cut", "junk"],
)
def test_the_digest_is_the_whole_files_whatever_the_inspection_read(data):
    verdict, _ = verdict_of(data)
    assert verdict.digests["sha256"] == hashlib.sha256(data).hexdigest()
    assert not any(n.startswith(("hash-mismatch", "size-mismatch")) for n in verdict.notices)


def test_a_refused_archive_still_reports_a_wrong_digest():
    verdict, _ = verdict_of(wheel_with_gap(), declared="0" * 64)
    codes = {n.split(":", 1)[0] for n in verdict.notices}
    assert {"hash-mismatch", "zip-framing"} <= codes


def test_a_zip_sdist_is_hashed_as_it_is_inspected():
    data = zip_sdist_bytes()
    verdict, _ = verdict_of(data, filename="acme_tools-1.0.zip")
    assert verdict.ok, verdict.notices
    assert verdict.digests["sha256"] == hashlib.sha256(data).hexdigest()


def big_wheel_streamed() -> bytes:
    """A big wheel written as a pipe gets it: every member followed by a data descriptor
    (bytes the inspection hops over), and a directory entry (whose header it skips)."""

    sink = Pipe()
    with zipfile.ZipFile(sink, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.mkdir("acme_tools/data")
        with zipfile.ZipFile(io.BytesIO(big_wheel())) as source:
            for info in source.infolist():
                with zf.open(info.filename, "w") as member:
                    member.write(source.read(info))
    return bytes(sink.data)


@pytest.mark.parametrize("build", [big_wheel, big_wheel_streamed], ids=["plain", "streamed"])
def test_a_large_wheel_is_read_about_once(build):
    data = build()
    verdict, read = verdict_of(data)
    assert verdict.digests["sha256"] == hashlib.sha256(data).hexdigest()
    assert not any(n.startswith("hash-mismatch") for n in verdict.notices)
    # Once, plus the headers, the small members read twice (METADATA, RECORD...) and the
    # central directory: not a hash pass and an archive pass.
    assert len(data) <= read < 1.05 * len(data)


@pytest.mark.parametrize("seed", range(20))
def test_any_order_of_reads_hashes_every_byte_once_in_order(seed):
    rng = random.Random(seed)
    data = rng.randbytes(rng.randrange(1, 300_000))
    hasher = MultiHasher({"sha256"})
    reader = InOrderHasher(io.BytesIO(data), len(data), hasher)
    position = 0
    for _ in range(rng.randrange(0, 60)):
        # On from the last read, a hop over a few bytes, or a jump anywhere.
        position = rng.choice(
            [
                position,
                position + rng.randrange(1, 100),
                rng.randrange(0, len(data) + 10),
            ]
        )
        reader.seek(position)
        size = rng.randrange(0, 100_000)
        assert reader.read(size) == data[position : position + size]
        position = reader.tell()
    reader.finish()
    reader.close()
    assert hasher.size == len(data)
    assert hasher.hexdigests()["sha256"] == hashlib.sha256(data).hexdigest()
