"""Server CPU per read request (index page, .metadata, file redirect), on moto in-process.

The app's share is the process CPU minus what moto spends answering the AWS calls (its
botocore stub, measured with cProfile), so the number is wharf's own work per request:
routing, auth, the AWS SDK's request building and parsing, rendering.

    python -m bench.request_cpu [--requests 100]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import quiet  # noqa: E402


def _moto_seconds(stats: pstats.Stats) -> float:
    for (filename, _, name), row in stats.stats.items():  # type: ignore[attr-defined]
        if name == "__call__" and filename.endswith("botocore_stubber.py"):
            return float(row[3])  # cumulative
    return 0.0


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=100)
    args = parser.parse_args(argv)
    from chalice.test import Client
    from moto import mock_aws

    import tests.conftest  # noqa: F401  (first: fake credentials, never a real account)
    from app import app
    from chalicelib import wiring
    from chalicelib.domain.tokens import Role, TokenRequest
    from chalicelib.settings import Settings
    from tests.builders import wheel_bytes
    from tests.conftest import basic
    from tests.upload_client import UploadClient, release
    from wharf_stack.resources import create_resources

    wheel = "acme_tools-1.0-py3-none-any.whl"
    with mock_aws():
        clients = wiring.aws_clients()
        resources = create_resources(clients.s3, clients.dynamodb, clients.sqs, prefix="bench")
        settings = Settings(
            table_name=resources.table, bucket_name=resources.bucket, queue_arn=resources.queue_arn
        )
        container = wiring.build(settings, clients)
        wiring.use(container)
        upload = container.tokens.issue(TokenRequest(role=Role.UPLOAD, projects=["acme-*"]))
        read = basic(container.tokens.issue(TokenRequest(role=Role.READ)).secret)
        with Client(app) as app_client:
            http = app_client.http
            with quiet():
                release(
                    UploadClient(http, upload.secret),
                    app_client,
                    _Aws(clients, resources),
                    "acme-tools",
                    "1.0",
                    {wheel: wheel_bytes()},
                )
            paths = {
                "index page": ("/simple/acme-tools/", 200),
                ".metadata": (f"/files/acme-tools/{wheel}.metadata", None),
                "file": (f"/files/acme-tools/{wheel}", 302),
            }
            # The anchor: the same app reading the token and the download's records on
            # every request (as before the caches); rounds alternate so that load on the
            # machine hits both alike.
            anchor = wiring.build(
                settings.model_copy(
                    update={
                        "token_cache_seconds": 0,
                        "read_cache_seconds": 0,
                        "index_cache_bytes": 0,
                    }
                ),
                clients,
            )
            print(
                f"server CPU per request ({args.requests} each, best of 3, moto's share taken "
                "out), every record read on each request -> a warm instance's caches:"
            )
            for label, (path, expected) in paths.items():
                with quiet():
                    reply = http.get(path, headers=read)
                assert expected is None or reply.status_code == expected, reply.status_code
                best = {"anchor": float("inf"), "cached": float("inf")}
                for _ in range(3):
                    for name, built in (("anchor", anchor), ("cached", container)):
                        wiring.use(built)
                        with quiet():  # the access log line is still written, to /dev/null
                            cpu = _cpu_ms(http, path, read, args.requests)
                        best[name] = min(best[name], cpu)
                print(
                    f"  {label:11s} {best['anchor']:6.2f} ms -> {best['cached']:6.2f} ms "
                    f"({best['cached'] / best['anchor']:.2f}x; status {reply.status_code})"
                )
        wiring.use(None)


def _cpu_ms(http, path: str, headers: dict[str, str], requests: int) -> float:
    """wharf's CPU milliseconds per GET of ``path``."""
    profile = cProfile.Profile(time.process_time)
    started = time.process_time()
    profile.enable()
    for _ in range(requests):
        http.get(path, headers=headers)
    profile.disable()
    total = time.process_time() - started
    moto = _moto_seconds(pstats.Stats(profile))
    # cProfile slows everything alike; the share of the two parts is what holds.
    share = (total - moto) / total if total else 0.0
    plain = time.process_time()
    for _ in range(requests):
        http.get(path, headers=headers)
    return (time.process_time() - plain) * share / requests * 1000


class _Aws:
    def __init__(self, clients, resources) -> None:
        self.clients, self.resources = clients, resources


if __name__ == "__main__":
    main()
