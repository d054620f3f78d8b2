"""Peak memory of validating hostile archives, next to an ordinary wheel.

    python -m bench.validate_hostile

Each archive is built in a temporary directory (deleted afterwards) and validated in
a fresh subprocess with the default limits, so the peak RSS reported belongs to that
validation alone. The hostile ones are the worst shapes the caps allow: they are
refused, and the point is what refusing them costs. The bound the design promises is
256 MiB (docs/validation.md); the ratio column is against the ordinary wheel.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import os
import resource
import struct
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

KiB, MiB = 1024, 1024 * 1024
BOUND_MIB = 256
ROOT = "bench_evil-1.0"


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def ordinary_wheel(path: Path) -> None:
    """About 12 MiB: 2,000 small modules and a few compiled-looking blobs."""
    dist_info = "bench_evil-1.0.dist-info"
    files = {f"bench_evil/mod{i}.py": (f"VALUE = {i}\n" * 200).encode() for i in range(2000)}
    for i in range(4):
        files[f"bench_evil/_ext{i}.so"] = os.urandom(2 * MiB)
    files[f"{dist_info}/METADATA"] = (
        b"Metadata-Version: 2.1\nName: bench-evil\nVersion: 1.0\nSummary: ordinary\n"
    )
    files[f"{dist_info}/WHEEL"] = b"Wheel-Version: 1.0\nRoot-Is-Purelib: false\nTag: py3-none-any\n"
    record = [_record_line(n, d) for n, d in files.items()] + [f"{dist_info}/RECORD,,"]
    files[f"{dist_info}/RECORD"] = ("\n".join(record) + "\n").encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)


def _sdist(path: Path, members: Callable[[tarfile.TarFile], None]) -> None:
    with (
        gzip.open(path, "wb", compresslevel=6) as raw,
        tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar,
    ):
        pkg_info = b"Metadata-Version: 2.2\nName: bench-evil\nVersion: 1.0\n"
        info = tarfile.TarInfo(f"{ROOT}/PKG-INFO")
        info.size = len(pkg_info)
        tar.addfile(info, io.BytesIO(pkg_info))
        members(tar)


def issue_pax_header(path: Path) -> None:
    """Issue 11's file: a ~127 KiB sdist whose one PAX header holds 128 MiB of zeros."""

    def add(tar: tarfile.TarFile) -> None:
        info = tarfile.TarInfo(f"{ROOT}/x")
        info.pax_headers = {"comment": "0" * (128 * MiB)}
        tar.addfile(info, io.BytesIO(b""))

    _sdist(path, add)


def pax_headers_to_the_budget(path: Path) -> None:
    """PAX headers just under the 1 MiB cap, one after another, until the bomb budget."""

    def add(tar: tarfile.TarFile) -> None:
        for i in range(400):
            info = tarfile.TarInfo(f"{ROOT}/f{i}")
            info.pax_headers = {"comment": "0" * (MiB - 64)}
            tar.addfile(info, io.BytesIO(b""))

    _sdist(path, add)


def many_long_names(path: Path) -> None:
    """50,000 members with 3 KiB names: every name is kept for the duplicate/link checks."""

    def add(tar: tarfile.TarFile) -> None:
        for i in range(50_000):
            info = tarfile.TarInfo(f"{ROOT}/{'d' * 100}/" * 30 + f"f{i}")
            tar.addfile(info, io.BytesIO(b""))

    _sdist(path, add)


def symlink_maze(path: Path) -> None:
    """20,000 symlinks, each a chain through the others (resolution work, not memory)."""

    def add(tar: tarfile.TarFile) -> None:
        for i in range(20_000):
            info = tarfile.TarInfo(f"{ROOT}/l{i}")
            info.type = tarfile.SYMTYPE
            info.linkname = f"l{i + 1}/../" * 8 + "x"
            tar.addfile(info)

    _sdist(path, add)


def record_at_the_cap(path: Path) -> None:
    """A wheel whose RECORD is 16 MiB (the cap) of lines for files it lacks."""
    dist_info = "bench_evil-1.0.dist-info"
    files = {
        f"{dist_info}/METADATA": b"Metadata-Version: 2.1\nName: bench-evil\nVersion: 1.0\n",
        f"{dist_info}/WHEEL": b"Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    lines = [_record_line(n, d) for n, d in files.items()]
    filler = "bench_evil/" + "m" * 80 + "{:08d}.py,sha256=" + "A" * 43 + ",1"
    lines += [filler.format(i) for i in range((16 * MiB - 4096) // (len(filler.format(0)) + 1))]
    files[f"{dist_info}/RECORD"] = ("\n".join(lines) + "\n").encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)


def _central_directory(path: Path, entries: int) -> None:
    """A wheel whose central directory is ``entries`` records with 64 KiB extra fields."""
    with open(path, "wb") as out:
        name = b"bench_evil/x.py"
        data = b"x"
        local = struct.pack(
            "<4sHHHHHIIIHH", b"PK\x03\x04", 20, 0, 0, 0, 0, 0x8CDC1683, 1, 1, len(name), 0
        )
        out.write(local + name + data)
        extra = struct.pack("<HH", 0xCAFE, 65_000) + b"\0" * 65_000
        central = struct.pack(
            "<4sHHHHHHIIIHHHHHII",
            b"PK\x01\x02", 20, 20, 0, 0, 0, 0, 0x8CDC1683, 1, 1,
            len(name), len(extra), 0, 0, 0, 0, 0,
        )  # fmt: skip
        cd_offset = out.tell()
        record = central + name + extra
        for _ in range(entries):
            out.write(record)
        cd_size = out.tell() - cd_offset
        out.write(
            struct.pack(
                "<4sHHHHIIH",
                b"PK\x05\x06",
                0,
                0,
                entries & 0xFFFF,
                entries & 0xFFFF,
                cd_size,
                cd_offset,
                0,
            )
        )


def huge_central_directory(path: Path) -> None:
    """200 MiB of central directory: zipfile would read it whole; the budget stops it first."""
    _central_directory(path, 3_200)


def central_directory_at_the_budget(path: Path) -> None:
    """45 MiB of central directory, just inside the budget: zipfile reads it, then the
    framing check refuses the archive. The worst memory a zip can cost."""
    _central_directory(path, 720)


CASES: list[tuple[str, str, Callable[[Path], None]]] = [
    ("ordinary wheel (anchor)", "bench_evil-1.0-py3-none-any.whl", ordinary_wheel),
    ("issue 11: 128 MiB PAX header", "bench_evil-1.0.tar.gz", issue_pax_header),
    ("PAX headers up to the budget", "bench_evil-1.0.tar.gz", pax_headers_to_the_budget),
    ("50,000 members, 3 KiB names", "bench_evil-1.0.tar.gz", many_long_names),
    ("20,000 chained symlinks", "bench_evil-1.0.tar.gz", symlink_maze),
    ("16 MiB RECORD", "bench_evil-1.0-py3-none-any.whl", record_at_the_cap),
    ("200 MiB zip central directory", "bench_evil-1.0-py3-none-any.whl", huge_central_directory),
    (
        "45 MiB zip central directory",
        "bench_evil-1.0-py3-none-any.whl",
        central_directory_at_the_budget,
    ),
]


def _peak_rss_mib() -> float:
    """This process's high-water RSS. /proc's VmHWM belongs to the process image, while
    ru_maxrss keeps the parent's peak across fork and exec (the builder's, here)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _child(path: str, filename: str) -> None:
    from packaging.version import Version

    from chalicelib.adapters.file_source import FileSource
    from chalicelib.domain.inspection.limits import Limits
    from chalicelib.domain.inspection.verdict import validate_distribution

    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(4 * MiB):
            digest.update(chunk)
    before = _peak_rss_mib()
    started = time.perf_counter()
    verdict = validate_distribution(
        FileSource(path),
        filename=filename,
        project="bench-evil",
        version=Version("1.0"),
        declared_size=os.path.getsize(path),
        declared_hashes={"sha256": digest.hexdigest()},
        limits=Limits(),
    )
    elapsed = time.perf_counter() - started
    peak = _peak_rss_mib()
    print(
        json.dumps(
            {
                "ok": verdict.ok,
                "codes": sorted({n.split(":", 1)[0] for n in verdict.notices}),
                "seconds": elapsed,
                "baseline_mib": before,
                "peak_rss_mib": peak,
            }
        )
    )


def main() -> None:
    print("validator: peak RSS of one validation in a fresh process (default limits)")
    print(
        f"{'archive':<32} {'file':>10} {'verdict':<24} {'seconds':>7} {'peak RSS':>9} {'ratio':>6}"
    )
    anchor = None
    worst = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for label, filename, build in CASES:
            path = Path(tmp) / filename
            build(path)
            size = path.stat().st_size
            result = subprocess.run(
                [sys.executable, "-m", "bench.validate_hostile", "--child", str(path), filename],
                capture_output=True,
                text=True,
                check=True,
            )
            data = json.loads(result.stdout.strip().splitlines()[-1])
            path.unlink()
            peak = data["peak_rss_mib"]
            anchor = anchor or peak
            if label != CASES[0][0]:
                worst = max(worst, peak)
                if data["ok"]:
                    raise SystemExit(f"{label}: the hostile archive was accepted")
            elif not data["ok"]:
                raise SystemExit(f"{label}: the ordinary wheel was refused: {data['codes']}")
            verdict = "ok" if data["ok"] else ",".join(data["codes"])
            size_text = f"{size / MiB:.1f} MiB" if size >= MiB else f"{size / KiB:.0f} KiB"
            print(
                f"{label:<32} {size_text:>10} {verdict:<24} {data['seconds']:>7.2f} "
                f"{peak:>5.0f} MiB {peak / anchor:>5.2f}x"
            )
    print(f"worst hostile peak: {worst:.0f} MiB (bound {BOUND_MIB} MiB)")
    if worst > BOUND_MIB:
        raise SystemExit(f"validation peak RSS {worst:.0f} MiB exceeds {BOUND_MIB} MiB")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        _child(sys.argv[2], sys.argv[3])
    else:
        main()
