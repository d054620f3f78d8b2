"""What a cold start imports: only what every request needs (``python -m bench.package``
times it); the rest is imported by the handlers that use it."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

from chalicelib import wiring
from chalicelib.settings import Settings
from tests.app.test_install_path import INSTALL_SERVICES
from tests.fakes import memory_stores

ROOT = Path(__file__).resolve().parents[2]

# The provenance layer's libraries (requirements-provenance.in) and cryptography.
NOT_AT_START = (
    "sigstore",
    "pypi_attestations",
    "rfc3161_client",
    "securesystemslib",
    "tuf",
    "readme_renderer",
    "docutils",
    "pygments",
    "nh3",
    "comrak",
    "cryptography",
    # boto3's package (its resource layer, s3transfer): ~25 ms; clients come from botocore.
    "boto3",
    "s3transfer",
)


def _run_in_app(code: str) -> subprocess.CompletedProcess[str]:
    """``code`` in a fresh interpreter, with the settings a stage gives the app."""
    env = {
        "WHARF_TABLE_NAME": "t",
        "WHARF_BUCKET_NAME": "b",
        "WHARF_QUEUE_ARN": "arn:aws:sqs:us-east-1:000000000000:q",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )


def test_the_request_path_does_not_import_the_verifier():
    """sigstore and pypi-attestations cost ~0.4 s of a cold start, the readme renderer
    ~0.09 s (docs/operations.md): only a file with attestations, or a release to publish,
    may load them."""
    code = f"import sys, app; print(sorted(m for m in {NOT_AT_START!r} if m in sys.modules))"
    out = _run_in_app(code)
    assert out.stdout.strip() == "[]"


def test_no_model_is_built_at_start():
    """A model's validator is built the first time it is used (chalicelib/domain/model.py):
    building all of them was ~20 ms of every cold start."""
    code = (
        "import app\n"
        "from chalicelib.domain.model import WharfModel\n"
        "def subclasses(c):\n"
        "    for s in c.__subclasses__():\n"
        "        yield s\n"
        "        yield from subclasses(s)\n"
        "models = list(subclasses(WharfModel))\n"
        "print(len(models), sorted(m.__name__ for m in models if m.__pydantic_complete__))\n"
    )
    out = _run_in_app(code)
    count, built = out.stdout.strip().split(" ", 1)
    assert int(count) >= 25
    assert built == "[]"


# wharf's own modules that only some handlers need: uploads, reviews, trusted publishing,
# the pages' service, the validator's inspection, and the adapters behind them.
DEFERRED = (
    "chalicelib.services.legacy",
    "chalicelib.services.file_uploads",
    "chalicelib.services.mechanisms",
    "chalicelib.services.validation",
    "chalicelib.services.reviews",
    "chalicelib.services.trusted_publishing",
    "chalicelib.services.provenance",
    "chalicelib.services.pages",
    "chalicelib.services.moderation",
    "chalicelib.services.repair",
    "chalicelib.adapters.dynamo_reviews",
    "chalicelib.adapters.dynamo_publishers",
    "chalicelib.adapters.dynamo_pages",
    "chalicelib.adapters.oidc_http",
    "chalicelib.adapters.s3_staging",
    "chalicelib.domain.inspection.verdict",
    "email.policy",
)
# An install counts its downloads (the pages' service and store), and the services it uses
# hold the staging store.
INSTALL_USES = (
    "chalicelib.adapters.s3_staging",
    "chalicelib.services.pages",
    "chalicelib.adapters.dynamo_pages",
)
INSTALL_NEVER_NEEDS = (
    *(m for m in DEFERRED if m not in INSTALL_USES),
    "chalicelib.adapters.sqs_review_queue",
)


def test_a_cold_start_imports_no_service_only_some_handlers_need():
    code = f"import sys, app; print(sorted(m for m in {DEFERRED!r} if m in sys.modules))"
    assert _run_in_app(code).stdout.strip() == "[]"


def test_an_install_sandbox_imports_none_of_the_rest():
    """The services an install's requests build (tests/app/test_install_path.py), on the
    stores a sandbox has (each adapter made on first use), import nothing of uploads,
    reviews, trusted publishing or the validator."""
    code = (
        "import sys\n"
        "import app\n"
        "from chalicelib import wiring\n"
        "from chalicelib.settings import get_settings\n"
        "nothing = wiring.AwsClients(s3=None, dynamodb=None, sqs=None)  # no call is made\n"
        "wharf = wiring.build(get_settings(), nothing)\n"
        f"for name in {sorted(INSTALL_SERVICES)!r}:\n"
        "    getattr(wharf, name)\n"
        f"print(sorted(m for m in {INSTALL_NEVER_NEEDS!r} if m in sys.modules))\n"
    )
    assert _run_in_app(code).stdout.strip() == "[]"


def test_two_threads_reading_a_service_at_once_get_the_same_one(monkeypatch):
    """The local stack serves requests on threads: the first two must not build two
    publishers (each would keep its own caches)."""
    settings = Settings(queue_arn="arn:aws:sqs:us-east-1:0:q", table_name="t", bucket_name="b")
    wharf = wiring.build(settings, stores=memory_stores()[0])
    descriptor = wiring.Container.publisher
    original = descriptor._build
    builds: list[object] = []

    def slow_build(container: wiring.Container) -> object:
        time.sleep(0.05)  # the other thread's read arrives while this one builds
        builds.append(container)
        return original(container)

    monkeypatch.setattr(descriptor, "_build", slow_build)
    seen: list[object] = []
    threads = [threading.Thread(target=lambda: seen.append(wharf.publisher)) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(builds) == 1
    assert seen[0] is seen[1] is wharf.publisher
