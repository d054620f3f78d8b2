"""Validate large wheels and report throughput and peak memory.

    python -m bench.validate_wheel [SIZE_MIB ...]     (default: 64 1024)

Each size is built once in a temporary directory (random bytes, so it does not
compress: like CUDA builds and bundled models) and validated in a fresh
subprocess, so that the peak RSS reported belongs to that validation alone.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

MiB = 1024 * 1024
NAME, VERSION = "bench_big", "1.0"
FILENAME = f"{NAME}-{VERSION}-py3-none-any.whl"


def build_wheel(path: Path, size_mib: int) -> None:
    """A real wheel of about ``size_mib`` MiB, written in chunks (bounded memory)."""
    dist_info = f"{NAME}-{VERSION}.dist-info"
    records = []
    members = max(1, size_mib // 64)
    per_member = size_mib * MiB // members
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        for index in range(members):
            name = f"{NAME}/blob{index}.bin"
            digest = hashlib.sha256()
            with zf.open(name, "w", force_zip64=True) as member:
                left = per_member
                while left:
                    chunk = os.urandom(min(left, 4 * MiB))
                    digest.update(chunk)
                    member.write(chunk)
                    left -= len(chunk)
            records.append((name, digest.digest(), per_member))
        small = {
            f"{dist_info}/METADATA": f"Metadata-Version: 2.1\nName: {NAME}\nVersion: {VERSION}\n",
            f"{dist_info}/WHEEL": "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        }
        for name, text in small.items():
            data = text.encode()
            zf.writestr(name, data)
            records.append((name, hashlib.sha256(data).digest(), len(data)))
        lines = [
            f"{n},sha256={base64.urlsafe_b64encode(d).rstrip(b'=').decode()},{s}"
            for n, d, s in records
        ]
        lines.append(f"{dist_info}/RECORD,,")
        zf.writestr(f"{dist_info}/RECORD", "\n".join(lines) + "\n")


def _child(path: str) -> None:
    from packaging.version import Version

    from chalicelib.adapters.file_source import FileSource
    from chalicelib.domain.inspection.limits import Limits
    from chalicelib.domain.inspection.verdict import validate_distribution

    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(4 * MiB):
            digest.update(chunk)
    started = time.perf_counter()
    verdict = validate_distribution(
        FileSource(path),
        filename=FILENAME,
        project="bench-big",
        version=Version(VERSION),
        declared_size=os.path.getsize(path),
        declared_hashes={"sha256": digest.hexdigest()},
        limits=Limits(),
    )
    elapsed = time.perf_counter() - started
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {
                "ok": verdict.ok,
                "notices": verdict.notices,
                "seconds": elapsed,
                "peak_rss_mib": peak_kib / 1024,
            }
        )
    )


def main(sizes: list[int]) -> None:
    print("validator: wheel of incompressible members, read from local disk (FileSource)")
    print(f"{'size':>9} {'seconds':>8} {'MB/s':>8} {'peak RSS':>10}")
    with tempfile.TemporaryDirectory() as tmp:
        for size_mib in sizes:
            path = Path(tmp) / f"{size_mib}-{FILENAME}"
            build_wheel(path, size_mib)
            result = subprocess.run(
                [sys.executable, "-m", "bench.validate_wheel", "--child", str(path)],
                capture_output=True,
                text=True,
                check=True,
            )
            data = json.loads(result.stdout.strip().splitlines()[-1])
            if not data["ok"]:
                raise SystemExit(f"validation failed: {data['notices']}")
            size = path.stat().st_size
            print(
                f"{size_mib:>5} MiB {data['seconds']:>8.2f} "
                f"{size / 1e6 / data['seconds']:>8.0f} {data['peak_rss_mib']:>7.0f} MiB"
            )
            path.unlink()


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        _child(sys.argv[2])
    else:
        main([int(a) for a in sys.argv[1:]] or [64, 1024])
