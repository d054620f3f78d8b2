"""The run: download, publish through both doors on fresh stacks, check the index, install,
report."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

import requests
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.e2e.conftest import Stack

from .catalog import Catalog
from .doors import LEGACY_LIMIT, TwineDoor, Upload2Door
from .fetch import LocalFile, fetch
from .installs import run_install
from .model import ACCEPTED, TWINE, UPLOAD2, InstallResult, Verdict
from .report import FileFacts, Results
from .stack import MemoryWatch, StackError, create_token, running

SIMPLE_JSON = "application/vnd.pypi.simple.v1+json"


def describe_code(code: Path) -> str:
    """Which code the stacks run: the directory and, when it is a git checkout, its commit."""
    try:
        head = subprocess.run(
            ["git", "-C", str(code), "log", "-1", "--format=%h %s"],
            capture_output=True,
            text=True,
            timeout=10,
        )
        branch = subprocess.run(
            ["git", "-C", str(code), "rev-parse", "--abbrev-ref", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
        )
    except OSError:
        return str(code)
    if head.returncode != 0:
        return f"{code} (not a git checkout)"
    served = ["chalicelib", "wharf_cli", "wharf_stack", "app.py"]
    dirty = subprocess.run(
        ["git", "-C", str(code), "status", "--porcelain", "--", *served],
        capture_output=True,
        text=True,
        timeout=10,
    ).stdout.strip()
    return (
        f"{code} (branch {branch.stdout.strip()}, {head.stdout.strip()}"
        + (", with uncommitted changes" if dirty else "")
        + ")"
    )


def _releases(files: list[LocalFile]) -> dict[str, list[list[LocalFile]]]:
    """Files grouped as the client publishes them: per release, releases per project."""
    by_release: dict[tuple[str, str], list[LocalFile]] = defaultdict(list)
    for local in files:
        by_release[local.client_release].append(local)
    by_project: dict[str, list[list[LocalFile]]] = defaultdict(list)
    for (project, _), group in by_release.items():
        by_project[project].append(group)
    return by_project


def _per_project(
    files: list[LocalFile],
    jobs: int,
    publish: Callable[[list[LocalFile]], list[Verdict]],
    say: Callable[[str], None],
    watch: MemoryWatch,
    verdicts: list[Verdict],
) -> None:
    """Publish every release, adding to ``verdicts``; projects in parallel, one project's
    releases in order. Raises ``StackError`` when the stack's memory watch tripped (the
    verdicts of releases in flight then are dropped: the stack was gone)."""
    projects = _releases(files)
    total = sum(len(r) for r in projects.values())
    done = 0
    lock = threading.Lock()

    def one_project(releases: list[list[LocalFile]]) -> None:
        nonlocal done
        for release in releases:
            watch.check()
            these = publish(release)
            watch.check()
            accepted = sum(v.status == ACCEPTED for v in these)
            with lock:
                verdicts.extend(these)
                done += 1
                project, version = release[0].client_release
                say(
                    f"  [{done:3d}/{total}] {project} {version}: {accepted}/{len(these)} "
                    f"accepted (stack memory {watch.last / 2**30:.2f} GiB)"
                )

    # The projects with the most bytes first, so the large uploads overlap the small ones.
    order = sorted(projects.values(), key=lambda rs: -sum(f.size for r in rs for f in r))
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        for _ in pool.map(one_project, order):
            pass


def check_index(
    stack: Stack, token: str, files: list[LocalFile], verdicts: list[Verdict]
) -> list[str]:
    """Compare each verdict with the project's JSON index page: published files must be
    there with the registry's sha256, refused ones must not."""
    status = {v.filename: v.status for v in verdicts}
    problems: list[str] = []
    by_project: dict[str, list[LocalFile]] = defaultdict(list)
    for local in files:
        by_project[local.client_release[0]].append(local)
    http = requests.Session()
    http.auth = ("__token__", token)
    for project, locals_ in sorted(by_project.items()):
        reply = http.get(
            f"{stack.url}/simple/{canonicalize_name(project)}/",
            headers={"Accept": SIMPLE_JSON},
            timeout=60,
        )
        listed: dict[str, str] = {}
        if reply.status_code == 200:
            listed = {f["filename"]: f["hashes"].get("sha256", "") for f in reply.json()["files"]}
        elif reply.status_code != 404:
            problems.append(f"{project}: the index answered {reply.status_code}")
            continue
        for local in locals_:
            accepted = status.get(local.filename) == ACCEPTED
            if accepted and local.filename not in listed:
                problems.append(f"{local.filename}: accepted but not in the index")
            elif accepted and listed[local.filename] != local.remote.sha256:
                problems.append(f"{local.filename}: the index has another sha256")
            elif not accepted and local.filename in listed:
                problems.append(f"{local.filename}: refused but in the index")
    return problems


def upload2_pass(
    catalog: Catalog,
    files: list[LocalFile],
    workdir: Path,
    options: Options,
    results: Results,
) -> None:
    say = options.say
    say("Upload 2.0: `wharf upload` on a fresh stack")
    with running(workdir / "stack-upload2", memory_limit=options.memory_limit) as (stack, watch):
        try:
            door = Upload2Door(stack, create_token(stack, "upload"))
            reader = create_token(stack, "read")

            def publish(release: list[LocalFile]) -> list[Verdict]:
                project, version = release[0].client_release
                return door.publish(project, version, [f.path for f in release])

            verdicts: list[Verdict] = []
            try:
                _per_project(files, options.jobs, publish, say, watch, verdicts)
            finally:
                results.verdicts += verdicts
            results.index_problems += [
                f"upload2: {p}" for p in check_index(stack, reader, files, verdicts)
            ]
            if options.installs and catalog.installs:
                results.installs += _installs(catalog, files, verdicts, stack, reader, workdir, say)
        finally:
            results.memory[UPLOAD2] = watch.peak


def _installs(
    catalog: Catalog,
    files: list[LocalFile],
    verdicts: list[Verdict],
    stack: Stack,
    reader: str,
    workdir: Path,
    say: Callable[[str], None],
) -> list[InstallResult]:
    say("Installs: pip and uv from the Upload 2.0 index")
    status = {v.filename: v.status for v in verdicts}
    hosted = {(canonicalize_name(f.client_release[0]), f.client_release[1]) for f in files}
    done: list[InstallResult] = []
    for index, spec in enumerate(catalog.installs):
        requirements = [Requirement(r) for r in spec.requirements]
        wanted = {canonicalize_name(r.name) for r in requirements}
        if not all(
            any(
                name == canonicalize_name(r.name) and r.specifier.contains(version, True)
                for name, version in hosted
            )
            for r in requirements
        ):
            say(f"  skipped: {spec.name} (not in this run)")
            continue
        refused = wanted & {
            canonicalize_name(f.client_release[0])
            for f in files
            if status.get(f.filename) != ACCEPTED
        }
        for tool in spec.tools:
            target = workdir / "installs" / f"{index:02d}-{tool}"
            result = run_install(tool, spec, stack, reader, target, workdir / "uv-cache")
            if not result.ok and refused:
                why = f"(files of {', '.join(sorted(refused))} were refused) "
                result = replace(result, detail=why + result.detail)
            say(f"  {'ok' if result.ok else 'FAILED'}: {tool} {spec.name}")
            done.append(result)
    return done


def twine_pass(files: list[LocalFile], workdir: Path, options: Options, results: Results) -> None:
    # A second, fresh stack: a filename published once can never be published again.
    options.say("legacy API: `twine upload` on a second fresh stack")
    with running(workdir / "stack-twine", memory_limit=options.memory_limit) as (stack, watch):
        try:
            door = TwineDoor(stack, create_token(stack, "upload"))
            reader = create_token(stack, "read")

            def publish(release: list[LocalFile]) -> list[Verdict]:
                return door.publish(
                    [f.path for f in release], lambda path: path.stat().st_size <= LEGACY_LIMIT
                )

            verdicts: list[Verdict] = []
            try:
                _per_project(files, options.jobs, publish, options.say, watch, verdicts)
            finally:
                results.verdicts += verdicts
            results.index_problems += [
                f"twine: {p}" for p in check_index(stack, reader, files, verdicts)
            ]
        finally:
            results.memory[TWINE] = watch.peak


def facts(files: list[LocalFile]) -> list[FileFacts]:
    return [
        FileFacts(
            filename=f.filename,
            group=f.release.group,
            release=f.release.key,
            size=f.size,
            upload_time=f.remote.upload_time,
            metadata_version=f.metadata.metadata_version if f.metadata else None,
            license_file=bool(f.metadata and f.metadata.license_file),
            license_expression=bool(f.metadata and f.metadata.license_expression),
        )
        for f in files
    ]


@dataclass(frozen=True)
class Options:
    doors: list[str]
    installs: bool
    jobs: int
    memory_limit: int
    say: Callable[[str], None] = print


def run(
    catalog: Catalog,
    cache: Path,
    *,
    code: Path,
    options: Options,
    checkpoint: Callable[[Results], None] = lambda results: None,
) -> tuple[Results | None, list[str]]:
    """The whole run. Returns the results, or None and the problems that stopped it.

    ``checkpoint`` gets the results so far after each door, so a failure later keeps them.
    A stack that fails (or passes its memory limit) ends the run early: the results say so.
    """
    started = time.monotonic()
    seconds: dict[str, float] = {}
    fetched = fetch(catalog, cache, say=options.say)
    seconds["download"] = time.monotonic() - started
    if fetched.problems:
        return None, fetched.problems
    workdir = cache / "run"
    shutil.rmtree(workdir, ignore_errors=True)
    if code.resolve() != Path(__file__).resolve().parent.parent:
        # The stacks and the wharf client import chalicelib, wharf_stack and wharf_cli
        # from ``code`` instead of this checkout.
        os.environ["PYTHONPATH"] = os.pathsep.join(
            filter(None, [str(code.resolve()), os.environ.get("PYTHONPATH")])
        )
    results = Results(code=describe_code(code), files=facts(fetched.files))
    results.fetched_bytes = fetched.fetched_bytes
    passes: list[tuple[str, str, Callable[[], None]]] = [
        (
            UPLOAD2,
            "upload2 and installs",
            lambda: upload2_pass(catalog, fetched.files, workdir, options, results),
        ),
        (TWINE, "twine", lambda: twine_pass(fetched.files, workdir, options, results)),
    ]
    for door, label, one_pass in passes:
        if door not in options.doors or results.aborted:
            continue
        mark = time.monotonic()
        try:
            one_pass()
        except StackError as error:
            results.aborted = f"{door}: {error}"
            options.say(f"stopped: {results.aborted}")
        seconds[label] = time.monotonic() - mark
        results.seconds = dict(seconds)
        checkpoint(results)
    seconds["total"] = time.monotonic() - started
    results.seconds = seconds
    return results, []


def write_json(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
