"""`make serve`: moto, the template's resources, the app on chalice local, and an SQS worker."""

from __future__ import annotations

import importlib
import os
import signal
import ssl
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

PROJECT_DIR = Path(__file__).resolve().parent.parent
REGION = "us-east-1"


def _isolate_from_real_aws() -> None:
    """Never let the local stack reach a real AWS account, whatever the shell has set."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        os.environ.pop(name, None)
    os.environ.update(
        AWS_ACCESS_KEY_ID="wharf-local",
        AWS_SECRET_ACCESS_KEY="wharf-local",
        AWS_DEFAULT_REGION=REGION,
        AWS_REGION=REGION,
    )


def _write_admin_token(secret: str) -> Path:
    state_dir = Path(os.environ.get("WHARF_STATE_DIR") or PROJECT_DIR / ".wharf")
    state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = state_dir / "admin-token"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(secret + "\n")
    path.chmod(0o600)
    return path


def _scheduled_handlers(app_module: Any) -> list[tuple[str, Any]]:
    from chalice.app import ScheduledEventConfig

    app = app_module.app
    return [
        (source.name, app.handler_map[source.name])
        for source in app.event_sources
        if isinstance(source, ScheduledEventConfig)
    ]


def _event_handlers(app_module: Any, queue_arn: str) -> list[Any]:
    """The app's SQS handlers for our queue, as Lambda would invoke them."""
    from chalice.app import SQSEventConfig

    app = app_module.app
    return [
        app.handler_map[source.name]
        for source in app.event_sources
        if isinstance(source, SQSEventConfig) and source.queue_arn == queue_arn
    ]


class MotoProcess:
    """moto in a process of its own (moto_process): it ends when this process does."""

    def __init__(self, host: str, port: int) -> None:
        self._process = subprocess.Popen(
            [sys.executable, "-m", "wharf_stack.moto_process", host, str(port)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._process.stdout is not None
        line = self._process.stdout.readline()
        if not line.startswith("moto listening on "):
            self._process.kill()
            raise SystemExit(f"moto did not start: {line!r}")
        self.host, port_text = line.removeprefix("moto listening on ").strip().rsplit(":", 1)
        self.port = int(port_text)

    def stop(self) -> None:
        assert self._process.stdin is not None
        self._process.stdin.close()  # moto_process serves until its input ends
        self._process.wait()


def tls_context() -> ssl.SSLContext | None:
    """HTTPS for the whole stack when WHARF_TLS_CERT (a PEM chain) and WHARF_TLS_KEY are set.

    `uv publish` reaches the trusted-publishing exchange over https only, whatever the
    upload URL's scheme; the e2e tests make a local CA and certificate with trustme.
    """
    cert, key = os.environ.get("WHARF_TLS_CERT"), os.environ.get("WHARF_TLS_KEY")
    if not cert:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


def main() -> int:
    port = int(os.environ.get("WHARF_PORT", "8000"))
    host = "127.0.0.1"
    _isolate_from_real_aws()

    from . import gateway_fidelity

    gateway_fidelity.apply()

    moto = MotoProcess(host, int(os.environ.get("WHARF_MOTO_PORT", "0")))
    moto_host, moto_port = moto.host, moto.port
    os.environ["AWS_ENDPOINT_URL"] = f"http://{moto_host}:{moto_port}"

    import boto3

    from .resources import create_resources

    session = boto3.session.Session()
    sqs = session.client("sqs")
    resources = create_resources(
        session.client("s3"), session.client("dynamodb"), sqs, prefix="wharf-local"
    )

    # Only the resource names: every other WHARF_* setting the user exported stays theirs.
    os.environ.update(
        WHARF_TABLE_NAME=resources.table,
        WHARF_BUCKET_NAME=resources.bucket,
        WHARF_QUEUE_ARN=resources.queue_arn,
        WHARF_REVIEW_QUEUE_URL=resources.review_queue_url,
    )
    tls = tls_context()
    scheme = "https" if tls else "http"
    if tls:
        # Upload 2.0 links are built from the request; behind TLS they must say https.
        os.environ.setdefault("WHARF_PUBLIC_URL", f"https://{host}:{port}")
    # WHARF_VALIDATION_SPOOL_BYTES as on Lambda (384 MiB): a larger file is inspected through
    # ranged GETs rather than spooled, which moto (in its own process) serves from the
    # object's own file: a 512 MiB upload no longer writes a third copy to disk.
    # Plain http on the local stack (unless TLS is on): a Secure cookie would never come back.
    os.environ.setdefault("WHARF_SECURE_COOKIES", "true" if tls else "false")
    sys.path.insert(0, str(PROJECT_DIR))
    app_module = importlib.import_module("app")

    from chalicelib.domain.tokens import new_secret
    from chalicelib.services.tokens import bootstrap_admin_request
    from chalicelib.wiring import container

    secret = os.environ.get("WHARF_ADMIN_TOKEN") or new_secret()
    container().tokens.import_secret(secret, bootstrap_admin_request("local stack bootstrap admin"))
    token_file = _write_admin_token(secret)

    from .worker import QueueWorker, ScheduleRunner, pause

    # Scheduled handlers run far more often than in AWS, so local expiry is visible.
    period = float(os.environ.get("WHARF_SCHEDULE_SECONDS", "5"))
    # Several pollers, as Lambda runs several invocations of a handler at once.
    pollers = int(os.environ.get("WHARF_WORKERS", "4"))
    workers: list[Any] = [
        QueueWorker(sqs, resources.queue_url, resources.queue_arn, handler, region=REGION)
        for handler in _event_handlers(app_module, resources.queue_arn)
        for _ in range(pollers)
    ]
    workers += [
        ScheduleRunner(name, handler, period=period, region=REGION)
        for name, handler in _scheduled_handlers(app_module)
    ]
    for worker in workers:
        worker.start()

    from chalice.config import Config
    from chalice.local import ThreadedHTTPServer

    from .http_server import local_server

    # socketserver's default backlog of 5 resets connections when clients arrive in
    # bursts (parallel uploads, installers); API Gateway has no such limit.
    ThreadedHTTPServer.request_queue_size = 128

    config = Config.create(
        chalice_app=app_module.app, app_name="wharf", project_dir=str(PROJECT_DIR)
    )
    server = local_server(app_module.app, config, host, port)
    if tls:
        # The handshake happens on the first read, in the request's own thread.
        server.server.socket = tls.wrap_socket(
            server.server.socket, server_side=True, do_handshake_on_connect=False
        )
    server_thread = threading.Thread(target=server.serve_forever, name="wharf-http", daemon=True)
    server_thread.start()

    base = f"{scheme}://{host}:{port}"
    reviewers = container().reviews.config.reviewers
    if "example" in reviewers:
        # The example reviewer, as an operator would run theirs: off the review queue,
        # verdicts through the admin API (docs/review.md).
        from .reviewer.runner import ExampleReviewer
        from .reviewer.sample_rules import configured_rules

        rules = configured_rules(os.environ.get("WHARF_REVIEWER_YARA_RULES"))
        reviewer = ExampleReviewer(sqs, resources.review_queue_url, base, secret, rules=rules)
        reviewer.start()
        workers.append(reviewer)
    print(
        f"""
wharf is running (local stack; all data lives in memory and is gone when it stops)

  Upload 2.0 API : {base}/upload/
  Legacy upload  : {base}/legacy/
  Index          : {base}/simple/
  moto (AWS)     : http://{moto_host}:{moto_port}
  Reviewers      : {", ".join(reviewers) or "none (WHARF_REVIEWERS=example adds the example)"}

  Admin token    : {secret}
                   (also in {token_file})

How to:
  export WHARF_URL={base} WHARF_TOKEN=$(cat {token_file})
  wharf token create --role upload --project 'my-*'    # a token for publishers
  pip install --index-url http://__token__:$WHARF_TOKEN@{host}:{port}/simple/ <project>

Stop with Ctrl-C.
""",
        flush=True,
    )

    stop = threading.Event()

    def _request_stop(signum: int, frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGINT, _request_stop)
    signal.signal(signal.SIGTERM, _request_stop)
    while not pause(stop, 0.5):
        pass

    print("wharf: stopping", flush=True)
    server.shutdown()
    for worker in workers:
        worker.stop()
    # Workers notice the stop within a poll (a second); daemon threads, so no timed join
    # (see worker.pause for why the stack avoids timed waits).
    for worker in workers:
        worker.join()
    moto.stop()
    print("wharf: stopped", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
