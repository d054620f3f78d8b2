"""The project page of a project with 500 releases (two files each), rendered by the app's
route in process on the in-memory fakes: authentication, the catalog and page-store reads,
the template. Budget: 200 ms on the server. A view makes about five storage calls whatever the
release count (token get, project get, two partition queries, one object get); moto is
left out because its own query time (seconds for 1,500 items, in moto's serialiser) says
nothing about DynamoDB's. The anchor is the simple index's HTML for the same files,
rendered in the same run.

    python -m bench.pages [--releases 500] [--repeat 15]
"""

from __future__ import annotations

import argparse
import base64
import os
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import quiet  # noqa: E402

BUDGET_MS = 200.0
PROJECT = "bench-pages"
README = "# bench-pages\n\n" + "Some **words** and a [link](https://example.org/).\n\n" * 60


def _environment() -> None:
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        os.environ.pop(name, None)
    os.environ.update(
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",
        AWS_DEFAULT_REGION="us-east-1",
        WHARF_TABLE_NAME="wharf-bench-state",
        WHARF_BUCKET_NAME="wharf-bench-packages",
        WHARF_QUEUE_ARN="arn:aws:sqs:us-east-1:000000000000:wharf-bench-events",
        POWERTOOLS_LOG_LEVEL="WARNING",  # the bench prints its numbers, not request lines
    )


def _populate(container, releases: int) -> list:
    from chalicelib.domain.catalog import ReleaseCommit
    from chalicelib.domain.index import FileEntry
    from tests.builders import metadata_text

    start = datetime(2001, 1, 1, tzinfo=UTC)
    entries = []
    for number in range(releases):
        version = f"1.{number}"
        stamp = (start + timedelta(hours=number)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        files = [
            FileEntry(
                filename=f"bench_pages-{version}-py3-none-any.whl",
                version=version,
                size=12345,
                sha256=f"{number:064x}",
                upload_time=stamp,
                requires_python=">=3.9",
                metadata_sha256=f"{number:064x}",
                yanked="broken" if number % 50 == 0 else None,
            ),
            FileEntry(
                filename=f"bench_pages-{version}.tar.gz",
                version=version,
                size=23456,
                sha256=f"{number + 1:064x}",
                upload_time=stamp,
                requires_python=">=3.9",
            ),
        ]
        holder = f"legacy:{number:064x}"
        catalog = container.stores.catalog
        catalog.put_release_files(PROJECT, holder, files)
        catalog.commit(
            ReleaseCommit(
                project=PROJECT,
                version=version,
                holder=holder,
                serial=catalog.next_serial(),
                at=start,
                keep_until=start,
                has_files=True,
                via_session=False,
                list_project=number == 0,
            )
        )
        metadata = metadata_text("bench-pages", version, requires=("requests>=2",))
        metadata = metadata.replace("The long description.\n", README)
        container.pages.release_published(PROJECT, version, "bench", metadata.encode())
        entries += files
    return entries


def _median_ms(call, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def _measure(container, releases: int, repeat: int) -> tuple[float, float]:
    from chalice.test import Client

    from app import app
    from chalicelib import wiring
    from chalicelib.domain.index import ProjectPage, render_project_html
    from chalicelib.domain.tokens import Role, TokenRequest

    wiring.use(container)
    try:
        entries = _populate(container, releases)
        secret = container.tokens.issue(TokenRequest(role=Role.READ)).secret
        auth = "Basic " + base64.b64encode(f"__token__:{secret}".encode()).decode()
        page = ProjectPage(name=PROJECT, files=tuple(entries), last_serial=1)
        anchor = _median_ms(lambda: render_project_html(page), repeat)
        with Client(app) as client:

            def view() -> None:
                response = client.http.get(f"/project/{PROJECT}/", headers={"Authorization": auth})
                assert response.status_code == 200, response.body[:300]
                assert b"1.499" in response.body or releases < 500

            view()  # templates compiled, caches warm
            return _median_ms(view, repeat), anchor
    finally:
        wiring.use(None)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--releases", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args(argv)
    _environment()
    from chalicelib import wiring
    from chalicelib.settings import get_settings
    from tests.fakes import memory_stores

    settings = get_settings()
    print(f"project page, {args.releases} releases x 2 files (median of {args.repeat}):")
    stores, _, _ = memory_stores()
    with quiet():
        page_ms, anchor_ms = _measure(
            wiring.build(settings, stores=stores), args.releases, args.repeat
        )
    verdict = "within" if page_ms < BUDGET_MS else "OVER"
    print(
        f"  fakes: {page_ms:7.1f} ms ({verdict} the {BUDGET_MS:.0f} ms budget); simple index "
        f"HTML for the same files {anchor_ms:.1f} ms; ratio {page_ms / anchor_ms:.1f}x"
    )


if __name__ == "__main__":
    main()
