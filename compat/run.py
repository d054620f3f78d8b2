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

from . import plan
from .catalog import Catalog
from .doors import LEGACY_LIMIT, TwineDoor, Upload2Door
from .fetch import LocalFile, fetch
from .installs import run_install
from .model import ACCEPTED, TWINE, UPLOAD2, Verdict
from .report import DOOR_TITLES, FileFacts, Results
from .stack import MemoryWatch, StackDied, StackError, create_token, running

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


class Progress:
    """Counts published releases across batches for the progress lines."""

    def __init__(self, total: int, say: Callable[[str], None]) -> None:
        self.total = total
        self.done = 0
        self._say = say
        self._lock = threading.Lock()

    def release(self, these: list[Verdict], project: str, version: str, watch: MemoryWatch):
        accepted = sum(v.status == ACCEPTED for v in these)
        with self._lock:
            self.done += 1
            self._say(
                f"  [{self.done:3d}/{self.total}] {project} {version}: {accepted}/{len(these)} "
                f"accepted (stack memory {watch.last / 2**30:.2f} GiB)"
            )


def _per_project(
    files: list[LocalFile],
    jobs: int,
    publish: Callable[[list[LocalFile]], list[Verdict]],
    watch: MemoryWatch,
    verdicts: list[Verdict],
    progress: Progress | None,
) -> None:
    """Publish every release, adding to ``verdicts``; projects in parallel, one project's
    releases in order. Raises ``StackError`` when the stack's watch tripped or saw it die
    (the verdicts of releases in flight then are dropped: the stack was gone)."""
    lock = threading.Lock()
    stopping = False  # set when the run unwinds (Ctrl-C, SIGTERM, a dead stack)

    def one_project(releases: list[list[LocalFile]]) -> None:
        for release in releases:
            if stopping:
                return
            watch.check()
            these = publish(release)
            watch.check()
            with lock:
                verdicts.extend(these)
            if progress:
                progress.release(these, *release[0].client_release, watch)

    projects = plan.by_project(files).values()
    order = sorted(projects, key=lambda rs: -sum(f.size for r in rs for f in r))
    pool = ThreadPoolExecutor(max_workers=jobs)
    try:
        for _ in pool.map(one_project, order):
            pass
    except BaseException:
        stopping = True
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _index_page(http: requests.Session, stack: Stack, project: str) -> dict[str, str] | None:
    """filename -> sha256 on the project's JSON index page ({} when 404), None on an error."""
    reply = http.get(
        f"{stack.url}/simple/{canonicalize_name(project)}/",
        headers={"Accept": SIMPLE_JSON},
        timeout=60,
    )
    if reply.status_code == 404:
        return {}
    if reply.status_code != 200:
        return None
    return {f["filename"]: f["hashes"].get("sha256", "") for f in reply.json()["files"]}


def check_index(
    stack: Stack, token: str, files: list[LocalFile], verdicts: list[Verdict]
) -> list[str]:
    """Compare each verdict with the project's JSON index page: published files must be
    there with the registry's sha256, refused ones must not. A file missing at first is
    looked for again for up to 15 s, and reported as late if it then appears (its client
    had already been told it was published)."""
    status = {v.filename: v.status for v in verdicts}
    problems: list[str] = []
    by_project: dict[str, list[LocalFile]] = defaultdict(list)
    for local in files:
        by_project[local.client_release[0]].append(local)
    http = requests.Session()
    http.auth = ("__token__", token)
    for project, locals_ in sorted(by_project.items()):
        listed = _index_page(http, stack, project)
        if listed is None:
            problems.append(f"{project}: the index page answered an error")
            continue
        accepted = [f for f in locals_ if status.get(f.filename) == ACCEPTED]
        missing = [f for f in accepted if f.filename not in listed]
        started = time.monotonic()
        while missing and time.monotonic() - started < 15:
            time.sleep(1)
            listed = _index_page(http, stack, project) or listed
            late = [f for f in missing if f.filename in listed]
            waited = time.monotonic() - started
            problems += [
                f"{f.filename}: accepted, but in the index only {waited:.0f} s later" for f in late
            ]
            missing = [f for f in missing if f.filename not in listed]
        problems += [f"{f.filename}: accepted but not in the index" for f in missing]
        for local in locals_:
            if local.filename not in listed:
                continue
            if status.get(local.filename) != ACCEPTED:
                problems.append(f"{local.filename}: refused but in the index")
            elif listed[local.filename] != local.remote.sha256:
                problems.append(f"{local.filename}: the index has another sha256")
    return problems


def _upload2_publisher(stack: Stack) -> Callable[[list[LocalFile]], list[Verdict]]:
    door = Upload2Door(stack, create_token(stack, "upload"))

    def publish(release: list[LocalFile]) -> list[Verdict]:
        project, version = release[0].client_release
        return door.publish(project, version, [f.path for f in release])

    return publish


def _twine_publisher(stack: Stack) -> Callable[[list[LocalFile]], list[Verdict]]:
    door = TwineDoor(stack, create_token(stack, "upload"))

    def publish(release: list[LocalFile]) -> list[Verdict]:
        return door.publish(
            canonicalize_name(release[0].client_release[0]),
            [f.path for f in release],
            lambda path: path.stat().st_size <= LEGACY_LIMIT,
        )

    return publish


PUBLISHERS = {UPLOAD2: _upload2_publisher, TWINE: _twine_publisher}


def door_pass(
    door: str, files: list[LocalFile], workdir: Path, options: Options, results: Results
) -> None:
    """Publish ``files`` through ``door``, a fresh stack per batch (a filename published
    once can never be published again, so each door needs empty indexes)."""
    groups = plan.batches(files, options.files_per_stack)
    options.say(
        f"{DOOR_TITLES[door]}: {len(files)} files on {len(groups)} fresh "
        f"stack{'s' if len(groups) > 1 else ''}"
    )
    progress = Progress(len({f.client_release for f in files}), options.say)
    for number, batch in enumerate(groups, 1):
        counted = progress.done

        def one_batch(attempt: int, batch=batch, number=number, counted=counted) -> None:
            progress.done = counted  # a batch started again counts its releases again
            workplace = workdir / f"stack-{door}-{number}" / f"try-{attempt}"
            with running(workplace, memory_limit=options.memory_limit) as (stack, watch):
                try:
                    publish = PUBLISHERS[door](stack)
                    reader = create_token(stack, "read")
                    verdicts: list[Verdict] = []
                    _per_project(batch, options.jobs, publish, watch, verdicts, progress)
                    problems = check_index(stack, reader, batch, verdicts)
                finally:
                    results.memory[door] = max(results.memory.get(door, 0), watch.peak)
            results.verdicts += verdicts
            results.index_problems += [f"{door}: {p}" for p in problems]

        _retrying(one_batch, f"{door} batch {number}", options.say)


def _retrying(step: Callable[[int], None], label: str, say: Callable[[str], None]) -> None:
    """Run ``step`` on a fresh stack, again (twice at most) when the stack died under it:
    on a shared machine another session may stop every local stack at once."""
    for attempt in range(1, 4):
        try:
            step(attempt)
            return
        except StackDied as error:
            if attempt == 3:
                raise
            say(f"  {label}: {error}; starting it again on a fresh stack")


def install_pass(
    catalog: Catalog, files: list[LocalFile], workdir: Path, options: Options, results: Results
) -> None:
    """pip and uv install from a fresh stack that hosts what the installs need."""
    say = options.say
    hosted = plan.install_files(catalog.installs, files)
    specs = [(i, spec) for i, spec in enumerate(catalog.installs) if plan.runnable(spec, hosted)]
    for spec in catalog.installs:
        if not plan.runnable(spec, hosted):
            say(f"  install skipped: {spec.name} (not in this run)")
    if not specs:
        return
    say(f"Installs: pip and uv from a fresh stack hosting the {len(hosted)} files they need")

    def installs(attempt: int) -> None:
        done = []
        workplace = workdir / "stack-installs" / f"try-{attempt}"
        with running(workplace, memory_limit=options.memory_limit) as (stack, watch):
            try:
                verdicts: list[Verdict] = []
                publish = _upload2_publisher(stack)
                _per_project(hosted, options.jobs, publish, watch, verdicts, None)
                reader = create_token(stack, "read")
                status = {v.filename: v.status for v in verdicts}
                refused = {
                    canonicalize_name(f.client_release[0])
                    for f in hosted
                    if status.get(f.filename) != ACCEPTED
                }
                for index, spec in specs:
                    wanted = {canonicalize_name(Requirement(r).name) for r in spec.requirements}
                    for tool in spec.tools:
                        target = workdir / "installs" / f"{index:02d}-{tool}"
                        result = run_install(
                            tool, spec, stack, reader, target, workdir / "uv-cache"
                        )
                        watch.check()
                        if not result.ok and wanted & refused:
                            why = f"(files of {', '.join(sorted(wanted & refused))} were refused) "
                            result = replace(result, detail=why + result.detail)
                        say(f"  {'ok' if result.ok else 'FAILED'}: {tool} {spec.name}")
                        done.append(result)
            finally:
                results.memory["installs"] = watch.peak
        results.installs += done

    _retrying(installs, "installs", say)


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
    files_per_stack: int = 60
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
    passes: list[tuple[str, Callable[[], None]]] = []
    if UPLOAD2 in options.doors:
        passes.append(
            (UPLOAD2, lambda: door_pass(UPLOAD2, fetched.files, workdir, options, results))
        )
    if options.installs and catalog.installs:
        passes.append(
            ("installs", lambda: install_pass(catalog, fetched.files, workdir, options, results))
        )
    if TWINE in options.doors:
        passes.append((TWINE, lambda: door_pass(TWINE, fetched.files, workdir, options, results)))
    for label, one_pass in passes:
        if results.aborted:
            break
        mark = time.monotonic()
        try:
            one_pass()
        except StackError as error:
            results.aborted = f"{label}: {error}"
            options.say(f"stopped: {results.aborted}")
        seconds[label] = time.monotonic() - mark
        results.seconds = dict(seconds)
        checkpoint(results)
    seconds["total"] = time.monotonic() - started
    results.seconds = seconds
    return results, []


def write_json(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
