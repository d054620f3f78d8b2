"""Publishing benchmarks.

    python -m bench.publish

1. publish-to-visible latency (p50/p95) over 50 releases on the local stack
   (`wharf-serve` as a subprocess, real HTTP, S3 events through SQS);
2. render time of a project page with 5,000 files and a root with 50,000 projects;
3. AWS calls made by one publish when 10 and when 10,000 other projects exist.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import quiet  # noqa: E402


def latency(releases: int = 50) -> None:
    import requests

    from tests.builders import metadata_text, sha256, wheel_bytes
    from tests.e2e.conftest import start_stack

    meta = {"api-version": "2.0"}
    with tempfile.TemporaryDirectory() as tmp:
        stack = start_stack(Path(tmp), admin_token="wharf_bench-admin")
        try:
            admin = ("__token__", stack.admin_token)
            token = requests.post(
                f"{stack.url}/admin/tokens",
                json={"role": "upload", "projects": ["bench-*"]},
                auth=admin,
                timeout=30,
            ).json()["token"]
            auth = ("__token__", token)
            v2 = {"Content-Type": "application/vnd.pypi.upload.v2+json"}
            samples = []
            for minor in range(releases):
                version = f"1.{minor}"
                data = wheel_bytes(
                    "bench_lat", version, metadata=metadata_text("bench-lat", version)
                )
                session = requests.post(
                    f"{stack.url}/upload/",
                    json={"meta": meta, "name": "bench-lat", "version": version},
                    auth=auth,
                    headers=v2,
                    timeout=30,
                ).json()
                file = requests.post(
                    session["links"]["upload"],
                    json={
                        "meta": meta,
                        "filename": f"bench_lat-{version}-py3-none-any.whl",
                        "size": len(data),
                        "hashes": {"sha256": sha256(data)},
                        "mechanism": "http-post-bytes",
                    },
                    auth=auth,
                    headers=v2,
                    timeout=30,
                ).json()
                requests.post(
                    file["mechanism"]["file_url"],
                    data=data,
                    auth=auth,
                    headers={"Content-Type": "application/octet-stream"},
                    timeout=30,
                )
                requests.post(
                    file["links"]["complete"],
                    json={"meta": meta},
                    auth=auth,
                    headers=v2,
                    timeout=30,
                )
                while (
                    requests.get(
                        file["links"]["file-upload-session"], auth=auth, timeout=30
                    ).json()["status"]
                    != "completed"
                ):
                    time.sleep(0.02)
                started = time.perf_counter()
                requests.post(
                    session["links"]["publish"],
                    json={"meta": meta},
                    auth=auth,
                    headers=v2,
                    timeout=30,
                )
                while True:
                    page = requests.get(
                        f"{stack.url}/simple/bench-lat/",
                        auth=admin,
                        timeout=30,
                        headers={"Accept": "application/vnd.pypi.simple.v1+json"},
                    )
                    if page.status_code == 200 and version in page.json()["versions"]:
                        break
                    time.sleep(0.01)
                samples.append(time.perf_counter() - started)
        finally:
            stack.stop()
    samples.sort()
    p95 = samples[max(0, int(len(samples) * 0.95) - 1)]
    print(
        f"publish-to-visible over {releases} releases (local stack): "
        f"p50 {statistics.median(samples) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms"
    )


def render_times() -> None:
    from chalicelib.domain.index import (
        FileEntry,
        ProjectListing,
        ProjectPage,
        RootIndex,
        render_project_html,
        render_project_json,
        render_root_html,
        render_root_json,
    )

    files = tuple(
        FileEntry(
            filename=f"big_project-{i // 10}.{i % 10}-py3-none-any.whl",
            version=f"{i // 10}.{i % 10}",
            size=1000 + i,
            sha256="ab" * 32,
            upload_time="2026-11-25T12:00:00.000000Z",
            requires_python=">=3.9",
            metadata_sha256="cd" * 32,
        )
        for i in range(5000)
    )
    page = ProjectPage(name="big-project", files=files, last_serial=5000)
    started = time.perf_counter()
    html, js = render_project_html(page), render_project_json(page)
    project_ms = (time.perf_counter() - started) * 1000
    root = RootIndex(projects=tuple(ProjectListing(name=f"project-{i}") for i in range(50_000)))
    started = time.perf_counter()
    rhtml, rjs = render_root_html(root), render_root_json(root)
    root_ms = (time.perf_counter() - started) * 1000
    print(
        f"render, project with 5,000 files (HTML+JSON): {project_ms:.0f} ms "
        f"({len(html) // 1024} KiB + {len(js) // 1024} KiB)"
    )
    print(
        f"render, root with 50,000 projects (HTML+JSON): {root_ms:.0f} ms "
        f"({len(rhtml) // 1024} KiB + {len(rjs) // 1024} KiB)"
    )


def aws_calls(others: int) -> tuple[int, Counter]:
    """AWS calls of one publish of an existing project's new release, with ``others`` projects."""
    os.environ.update(
        AWS_ACCESS_KEY_ID="x", AWS_SECRET_ACCESS_KEY="x", AWS_DEFAULT_REGION="us-east-1"
    )
    from moto import mock_aws

    from chalicelib import wiring
    from chalicelib.domain.tokens import Principal, Role
    from chalicelib.settings import Settings
    from tests.builders import metadata_text, sha256, wheel_bytes
    from wharf_stack import moto_fidelity, moto_speed
    from wharf_stack.resources import create_resources

    moto_fidelity.apply()
    moto_speed.apply()
    with mock_aws():
        clients = wiring.aws_clients()
        res = create_resources(clients.s3, clients.dynamodb, clients.sqs, prefix="bench")
        wharf = wiring.build(
            Settings(table_name=res.table, bucket_name=res.bucket, queue_arn=res.queue_arn),
            clients,
        )
        table = res.table
        now = datetime.now(UTC).isoformat()
        for start in range(0, others, 25):
            clients.dynamodb.batch_write_item(
                RequestItems={
                    table: [
                        {"PutRequest": {"Item": item}}
                        for i in range(start, min(start + 25, others))
                        for item in (
                            {
                                "PK": {"S": "PROJECTS"},
                                "SK": {"S": f"other-{i}"},
                                "listed_at": {"S": now},
                            },
                            {
                                "PK": {"S": f"PROJECT#other-{i}"},
                                "SK": {"S": "PROJECT"},
                                "state": {"S": "active"},
                                "serial": {"N": str(i + 1)},
                            },
                        )
                    ]
                }
            )
        principal = Principal(token_id="bench", role=Role.ADMIN)

        def one_release(version: str) -> None:
            session = wharf.sessions.create(principal, "bench-target", version)
            data = wheel_bytes(
                "bench_target", version, metadata=metadata_text("bench-target", version)
            )
            view = wharf.files.create(
                principal,
                session.token,
                filename=f"bench_target-{version}-py3-none-any.whl",
                size=len(data),
                hashes={"sha256": sha256(data)},
                mechanism="http-post-bytes",
            )
            wharf.files.receive_bytes(
                principal, session.token, view.file.file_id, data, "application/octet-stream"
            )
            wharf.files.complete(principal, session.token, view.file.file_id)
            wharf.validator.validate(session.token, view.file.file_id)
            counted.clear()
            wharf.publisher.request(principal, session.token)
            wharf.publisher.run(session.token)

        counted: Counter = Counter()
        for client in (clients.s3, clients.dynamodb, clients.sqs):
            client.meta.events.register(
                "before-call", lambda model, **_: counted.update([model.name])
            )
        one_release("1.0")  # the project's first release (renders the root)
        one_release("2.0")  # the release measured
        return sum(counted.values()), counted


def main() -> None:
    render_times()
    for others in (10, 10_000):
        with quiet():
            total, calls = aws_calls(others)
        detail = ", ".join(f"{name} {n}" for name, n in sorted(calls.items()))
        print(f"AWS calls per publish with {others:>6} other projects: {total} ({detail})")
    latency()


if __name__ == "__main__":
    main()
