"""Large-file upload benchmark: one wheel uploaded three ways.

    python -m bench.upload [--size 512] [--part-size 16] [--threads 8] [--runs 3]

1. ``wharf upload`` to the local stack, until the release is visible in the index, with
   the time split (transfer, validation, publish) from its ``--json`` events and the
   disk the stack held and wrote meanwhile;
2. raw presigned multipart to the same kind of moto S3, same part size and concurrency
   (the ceiling: nothing wharf does can be faster than the bytes reaching S3);
3. ``twine upload`` to a local pypiserver on waitress (what teams run otherwise).

Raw and wharf alternate, ``--runs`` times each, each on a stack of its own; printed as
the ratio of their medians. The wheel is generated in a temporary directory
(incompressible members) and deleted at the end.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BIN = Path(sys.executable).parent
MiB = 1024 * 1024
NAME = "bench-big"


def build_wheel(directory: Path, size: int, version: str = "1.0") -> Path:
    """A valid wheel of about ``size`` bytes: 16 MiB stored members of random bytes."""
    import base64

    module = NAME.replace("-", "_")
    path = directory / f"{module}-{version}-py3-none-any.whl"
    dist_info = f"{module}-{version}.dist-info"
    record = []
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as archive:
        remaining, index = size, 0
        while remaining > 0:
            chunk = min(16 * MiB, remaining)
            name = f"{module}/blob_{index:04d}.bin"
            digest = hashlib.sha256()
            with archive.open(name, "w", force_zip64=True) as member:
                left = chunk
                while left:
                    piece = os.urandom(min(MiB, left))
                    member.write(piece)
                    digest.update(piece)
                    left -= len(piece)
            b64 = base64.urlsafe_b64encode(digest.digest()).rstrip(b"=").decode()
            record.append(f"{name},sha256={b64},{chunk}")
            remaining -= chunk
            index += 1
        for name, text in (
            (f"{module}/__init__.py", ""),
            (
                f"{dist_info}/METADATA",
                f"Metadata-Version: 2.1\nName: {NAME}\nVersion: {version}\nSummary: big\n",
            ),
            (
                f"{dist_info}/WHEEL",
                "Wheel-Version: 1.0\nGenerator: bench\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
            ),
        ):
            data = text.encode()
            archive.writestr(name, data)
            b64 = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            record.append(f"{name},sha256={b64},{len(data)}")
        record.append(f"{dist_info}/RECORD,,")
        archive.writestr(f"{dist_info}/RECORD", "\n".join(record) + "\n")
    return path


@dataclass
class Disk:
    """What a process and its children (the stack runs moto in one) hold in temporary
    files (open, even unlinked) and have written."""

    pid: int
    peak: int = 0
    after: int = 0
    _start_written: int = 0
    written: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)

    def _pids(self) -> list[int]:
        children = []
        for task in Path(f"/proc/{self.pid}/task").iterdir():
            children += (task / "children").read_text().split()
        return [self.pid, *map(int, children)]

    def _written(self) -> int:
        total = 0
        for pid in self._pids():
            for line in Path(f"/proc/{pid}/io").read_text().splitlines():
                if line.startswith("wchar:"):
                    total += int(line.split()[1])
        return total

    def _held(self) -> int:
        total = 0
        for pid in self._pids():
            fd_dir = Path(f"/proc/{pid}/fd")
            for fd in os.listdir(fd_dir):
                try:
                    target = os.readlink(fd_dir / fd)
                    temporary = target.startswith(("/tmp", tempfile.gettempdir()))
                    if temporary or "(deleted)" in target:
                        stat = os.stat(fd_dir / fd)
                        if stat.st_mode & 0o170000 == 0o100000:
                            total += stat.st_size
                except OSError:
                    continue
        return total

    def _sample(self) -> None:
        while not self._stop.is_set():
            try:
                self.peak = max(self.peak, self._held())
            except OSError:
                return
            time.sleep(0.1)

    @contextmanager
    def watch(self) -> Iterator[Disk]:
        self._start_written = self._written()
        thread = threading.Thread(target=self._sample, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self.written = self._written() - self._start_written
            self.after = self._held()
            self._stop.set()
            thread.join()


def run_wharf(stack, wheel: Path, token: str, threads: int, part: int) -> dict[str, float]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WHARF_")}
    env.update(WHARF_URL=stack.url, WHARF_TOKEN=token)
    command = [str(BIN / "wharf"), "upload", "--json", str(wheel)]
    started = time.perf_counter()
    marks: dict[str, float] = {}
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    for line in process.stdout:
        try:
            event = json.loads(line)["event"]
        except (ValueError, KeyError):
            continue
        marks.setdefault(event, time.perf_counter() - started)
    if process.wait() != 0:
        raise RuntimeError(f"wharf upload failed: {marks}")
    marks["exit"] = time.perf_counter() - started
    return marks


def run_raw(stack, wheel: Path, threads: int, part: int) -> float:
    """Presigned UploadPart URLs, PUT in parallel, then CompleteMultipartUpload."""
    import boto3
    import requests
    from botocore.config import Config

    s3 = boto3.client(
        "s3",
        endpoint_url=stack.moto_url,
        region_name="us-east-1",
        aws_access_key_id="wharf-local",
        aws_secret_access_key="wharf-local",
        config=Config(signature_version="s3v4"),
    )
    bucket = s3.list_buckets()["Buckets"][0]["Name"]
    key = f"bench/{wheel.name}"
    size = wheel.stat().st_size
    count = -(-size // part)
    started = time.perf_counter()
    upload = s3.create_multipart_upload(Bucket=bucket, Key=key, ChecksumAlgorithm="SHA256")
    session = requests.Session()
    adapter = requests.adapters.HTTPAdapter(pool_maxsize=threads)
    session.mount("http://", adapter)

    def put(number: int) -> dict:
        with wheel.open("rb") as handle:
            handle.seek((number - 1) * part)
            data = handle.read(part)
        digest = __import__("base64").b64encode(hashlib.sha256(data).digest()).decode()
        url = s3.generate_presigned_url(
            "upload_part",
            Params={
                "Bucket": bucket,
                "Key": key,
                "UploadId": upload["UploadId"],
                "PartNumber": number,
                "ChecksumSHA256": digest,
            },
            ExpiresIn=900,
        )
        reply = session.put(url, data=data, headers={"x-amz-checksum-sha256": digest})
        reply.raise_for_status()
        return {"PartNumber": number, "ETag": reply.headers["ETag"], "ChecksumSHA256": digest}

    with ThreadPoolExecutor(threads) as pool:
        parts = list(pool.map(put, range(1, count + 1)))
    s3.complete_multipart_upload(
        Bucket=bucket, Key=key, UploadId=upload["UploadId"], MultipartUpload={"Parts": parts}
    )
    elapsed = time.perf_counter() - started
    s3.delete_object(Bucket=bucket, Key=key)  # the disk: the next run uploads another
    return elapsed


def run_twine(wheel: Path, work: Path) -> float:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    packages = work / "pypiserver"
    packages.mkdir()
    serve = (
        "import sys, pypiserver, waitress; "
        "waitress.serve(pypiserver.app(roots=[sys.argv[1]], authenticate=[], "
        "password_file='.'), host='127.0.0.1', port=int(sys.argv[2]), threads=8, "
        "max_request_body_size=8 * 1024**3, _quiet=True)"
    )
    server = subprocess.Popen(
        [sys.executable, "-c", serve, str(packages), str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        from bench.installs import _wait_for

        _wait_for(f"http://127.0.0.1:{port}/simple/")
        started = time.perf_counter()
        result = subprocess.run(
            [
                *(str(BIN / "twine"), "upload", "--disable-progress-bar", "--non-interactive"),
                *("--repository-url", f"http://127.0.0.1:{port}/", "-u", "x", "-p", "x"),
                str(wheel),
            ],
            capture_output=True,
            text=True,
        )
        elapsed = time.perf_counter() - started
        if result.returncode != 0:
            raise RuntimeError(result.stdout + result.stderr)
        return elapsed
    finally:
        server.terminate()
        server.wait(timeout=10)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=512, help="MiB (default 512)")
    parser.add_argument("--part-size", type=int, default=16, help="MiB (the client's default)")
    parser.add_argument("--runs", type=int, default=3, help="raw and wharf uploads each")
    parser.add_argument("--threads", type=int, default=8, help="the client's default")
    args = parser.parse_args(argv)
    import requests

    from tests.e2e.conftest import start_stack

    part = args.part_size * MiB
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        wheel = build_wheel(work, args.size * MiB)
        size = wheel.stat().st_size

        (work / "stack-raw").mkdir()
        raw_stack = start_stack(work / "stack-raw", admin_token="wharf_bench-admin")
        (work / "stack").mkdir()
        stack = start_stack(work / "stack", admin_token="wharf_bench-admin")
        raws: list[float] = []
        runs: list[dict[str, float]] = []
        try:
            token = requests.post(
                f"{stack.url}/admin/tokens",
                json={"role": "upload", "projects": [NAME]},
                auth=("__token__", stack.admin_token),
                timeout=30,
            ).json()["token"]
            # The project's first release (its pages created, the stack's caches filled)
            # before the measured ones, so that the two publishes compared differ in size
            # only, as most uploads go to a project that exists.
            first = build_wheel(work, MiB, version="0.0")
            run_wharf(stack, first, token, args.threads, part)
            first.unlink()
            # Raw and wharf alternate, each a new release, so that the machine's load
            # (±20% from one minute to the next here) weighs on both alike; medians.
            for run in range(args.runs):
                if run:
                    wheel.unlink()
                    wheel = build_wheel(work, args.size * MiB, version=f"1.{run}")
                raws.append(run_raw(raw_stack, wheel, args.threads, part))
                if run == 0:
                    with Disk(stack.process.pid).watch() as disk:
                        runs.append(run_wharf(stack, wheel, token, args.threads, part))
                else:
                    runs.append(run_wharf(stack, wheel, token, args.threads, part))
            # Publishing moves no bytes: a 1 MiB release publishes as fast as the big one.
            # Three of them, for their median: one publish varies by ±50 ms here.
            small_publishes = []
            for version in ("0.1", "0.2", "0.3"):
                small = build_wheel(work, MiB, version=version)
                small_marks = run_wharf(stack, small, token, args.threads, part)
                small.unlink()
                small_publishes.append(
                    small_marks.get("published", small_marks["exit"])
                    - small_marks.get("file-done", 0.0)
                )
            page = requests.get(
                f"{stack.url}/simple/{NAME}/",
                auth=("__token__", token),
                headers={"Accept": "application/vnd.pypi.simple.v1+json"},
                timeout=30,
            ).json()
            assert wheel.name in [f["filename"] for f in page.get("files", [])], page
        finally:
            stack.stop()
            raw_stack.stop()

        twine = run_twine(wheel, work)

    raw = statistics.median(raws)
    wharf_total = statistics.median(m["exit"] for m in runs)
    sent = statistics.median(m.get("file-sent", m["exit"]) for m in runs)
    validation = statistics.median(
        m.get("file-done", m["exit"]) - m.get("file-sent", m["exit"]) for m in runs
    )
    publish = statistics.median(m["exit"] - m.get("file-done", m["exit"]) for m in runs)
    big_publish = statistics.median(
        m.get("published", m["exit"]) - m.get("file-done", m["exit"]) for m in runs
    )
    mib = size / MiB
    print(
        f"Upload of one {mib:.0f} MiB wheel ({args.part_size} MiB parts, {args.threads} "
        f"threads; median of {args.runs}, raw and wharf alternating)"
    )
    print(
        "  each run, raw / wharf (s): "
        + ", ".join(f"{r:.2f} / {m['exit']:.2f}" for r, m in zip(raws, runs, strict=True))
    )
    print(f"  raw presigned multipart  {raw:7.2f} s  {mib / raw:7.1f} MiB/s  1.00x (ceiling)")
    print(
        f"  wharf upload (visible)   {wharf_total:7.2f} s  {mib / wharf_total:7.1f} MiB/s  "
        f"{raw / wharf_total:4.2f}x of the ceiling"
    )
    print(
        f"  twine -> pypiserver      {twine:7.2f} s  {mib / twine:7.1f} MiB/s  "
        f"{raw / twine:4.2f}x of the ceiling"
    )
    before = statistics.median(m.get("file-start", 0.0) for m in runs)
    print(
        f"  wharf time split: transfer {sent:.2f} s (of which {before:.2f} s before the first "
        f"byte: the CLI starting, hashing the file, opening the session), validation "
        f"{validation:.2f} s, publish until visible {publish:.2f} s"
    )
    small_publish = statistics.median(small_publishes)
    print(
        f"  publish latency (verdict -> published event): {mib:.0f} MiB release "
        f"{big_publish:.2f} s, 1 MiB release {small_publish:.2f} s (median of 3; "
        f"{big_publish / small_publish:.2f}x)"
    )
    print(
        f"  local stack disk: held at most {disk.peak / MiB:.0f} MiB "
        f"({disk.peak / size:.1f}x the file), {disk.after / MiB:.0f} MiB once visible; wrote "
        f"{disk.written / MiB:.0f} MiB ({disk.written / size:.1f}x)"
    )


if __name__ == "__main__":
    main()
