"""`wharf upload` and `wharf session`: the publisher's everyday commands."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from . import legacy, trusted_publishing
from .client import ClientError
from .credentials import CredentialsError, MissingToken, Target, resolve
from .dists import Dist, inspect
from .progress import Reporter, size
from .release import Options, ReleaseUpload, Result, short
from .upload2 import NotUpload2, Upload2
from .workers import Stop, run_all

Common = Callable[..., None]
P = TypeVar("P", bound=argparse.ArgumentParser)  # main's parser class


def _credential_options(parser: argparse.ArgumentParser) -> None:
    """twine's names, so that `twine upload ...` becomes `wharf upload ...`."""
    parser.add_argument(
        "-r",
        "--repository",
        metavar="NAME",
        help="read the server and token from this ~/.pypirc section (default: wharf)",
    )
    parser.add_argument(
        "--repository-url",
        metavar="URL",
        help="the server as twine takes it: its root or its legacy upload URL (<root>/legacy/)",
    )
    parser.add_argument(
        "-u",
        "--username",
        metavar="USER",
        help="the user name to send with the token (default: __token__)",
    )
    parser.add_argument(
        "-p",
        "--password",
        dest="token",
        default=argparse.SUPPRESS,
        metavar="TOKEN",
        help="the token, as twine's --password (prefer WHARF_TOKEN: a command line is visible "
        "to other users of the machine)",
    )


def add_commands(commands: argparse._SubParsersAction[P], common: Common) -> None:
    upload = commands.add_parser(
        "upload",
        help="upload distributions and publish them",
        description="Upload wheels and sdists through Upload 2.0 and publish each release at "
        "once. Parallel runs for one release (a CI matrix) join one session and all succeed. "
        "Ctrl-C keeps what was sent: run the same command again to resume.",
    )
    common(upload, top=False)
    upload.add_argument(
        "files",
        nargs="+",
        metavar="FILE",
        type=Path,
        help="wheels (.whl) and sdists (.tar.gz) to upload; files of several releases may be mixed",
    )
    upload.add_argument(
        "--stage",
        action="store_true",
        help="upload without publishing; prints the session ID and its stage URL for testing",
    )
    upload.add_argument(
        "--skip-existing",
        action="store_true",
        help="count files already published with identical contents as uploaded (as twine)",
    )
    upload.add_argument(
        "--concurrency",
        type=int,
        default=8,
        metavar="N",
        help="parts of one file sent in parallel (default 8)",
    )
    upload.add_argument(
        "--part-size",
        type=int,
        metavar="BYTES",
        help="multipart part size to ask the server for (default: the server's choice)",
    )
    upload.add_argument(
        "--protocol",
        choices=["auto", "2", "legacy"],
        default="auto",
        help="auto: Upload 2.0, or the legacy API when the server lacks it (default); "
        "2: Upload 2.0 only; legacy: the legacy API only (files up to about 4 MiB on wharf)",
    )
    upload.add_argument(
        "--wait",
        type=float,
        default=900,
        metavar="SECONDS",
        help="give up when a validation or another job's files keep the session unchanged "
        "this long (default 900)",
    )
    upload.add_argument(
        "--non-interactive",
        action="store_true",
        help="accepted for twine compatibility; wharf never prompts",
    )
    _credential_options(upload)

    session = commands.add_parser("session", help="list, inspect, publish or cancel sessions")
    session_commands = session.add_subparsers(
        dest="session_command", required=True, metavar="ACTION"
    )
    listing = session_commands.add_parser(
        "list", help="list the open sessions of projects this token may upload to"
    )
    common(listing, top=False)
    listing.add_argument("--mine", action="store_true", help="only the sessions this token created")
    _credential_options(listing)
    for name, text in (
        ("status", "show a session and its files"),
        ("publish", "publish a session (a staged upload) and wait until it is visible"),
        ("cancel", "cancel a session: its files are discarded"),
        ("stage-url", "print a session's stage URL (pip --extra-index-url) and nothing else"),
    ):
        action = session_commands.add_parser(name, help=text)
        common(action, top=False)
        action.add_argument(
            "target",
            nargs="+",
            metavar="ID | NAME VERSION",
            help="the session's ID (as `wharf upload --stage` prints it), or the project "
            "name and version of a release with an open session",
        )
        _credential_options(action)


def _target(args: argparse.Namespace) -> Target:
    try:
        return resolve(
            getattr(args, "url", None),
            getattr(args, "token", None),
            args.repository,
            repository_url=args.repository_url,
            username=args.username,
        )
    except MissingToken as missing:
        if not trusted_publishing.in_ci():
            raise ClientError(str(missing)) from None
        # No secret configured, in a CI job: trade its OIDC identity for a short-lived token.
        token = trusted_publishing.mint_token(missing.target.url)
        return dataclasses.replace(missing.target, username="__token__", password=token)
    except CredentialsError as error:
        raise ClientError(str(error)) from None


def _reporter(args: argparse.Namespace) -> Reporter:
    if args.json:
        return Reporter("json")
    return Reporter("tty" if sys.stdout.isatty() else "plain")


def _releases(paths: list[Path], stop: Stop) -> dict[tuple[str, str], list[Dist]]:
    """The files grouped by release, each hashed; several at once, as hashlib lets go of
    the interpreter lock (a CI job uploading a matrix's wheels hashes them on every core),
    on the CLI's daemon workers, so that Ctrl-C ends the command at once."""
    dists = [path for path in paths if not path.name.endswith(".attestation")]
    # An attestation is sent with the dist it sits beside (`wharf upload dist/*` passes both).
    for path in dists:
        if not path.is_file():
            raise ClientError(f"{path}: no such file")

    def inspected(path: Path) -> Dist:
        try:
            return inspect(path)
        except ValueError as error:
            raise ClientError(str(error)) from None

    groups: dict[tuple[str, str], list[Dist]] = defaultdict(list)
    for dist in run_all(inspected, dists, workers=min(4, os.cpu_count() or 1), stop=stop):
        groups[(canonicalize_name(dist.project), dist.version)].append(dist)
    return groups


def _fail(reporter: Reporter, message: str, **fields: Any) -> None:
    """An error: a JSON event under --json, else a line on stderr."""
    if reporter.mode == "json":
        reporter.event("error", message=message, **fields)
    else:
        reporter.finish_bars()
        print(f"wharf: {message}", file=sys.stderr, flush=True)


def upload(args: argparse.Namespace, stop: Stop) -> int:
    """0 when everything asked for happened; 1 when something failed; 130 on Ctrl-C."""
    reporter = _reporter(args)
    try:
        return _upload(args, stop, reporter)
    finally:
        reporter.finish_bars()  # on a terminal: the last frame stays, the cursor comes back


def _upload(args: argparse.Namespace, stop: Stop, reporter: Reporter) -> int:
    target = _target(args)
    releases = _releases(args.files, stop)
    auth = (target.username, target.password)
    if args.protocol == "legacy":
        return _legacy(target, auth, releases, reporter, args.skip_existing)
    api = Upload2(
        target.url, auth, reporter, stop, concurrency=args.concurrency, part_size=args.part_size
    )
    options = Options(stage=args.stage, skip_existing=args.skip_existing, wait=args.wait)
    failed = False
    for (project, version), dists in releases.items():
        job = ReleaseUpload(api, project, version, dists, options)
        try:
            result = job.run()
        except NotUpload2:
            if args.protocol == "2":
                raise ClientError(f"{target.url} does not speak Upload 2.0") from None
            reporter.event(
                "notice", message="the server does not speak Upload 2.0; using the legacy API"
            )
            return _legacy(target, auth, releases, reporter, args.skip_existing)
        except KeyboardInterrupt:
            stop.set()
            _interrupted(job, reporter)
            return 130
        except ClientError as error:
            failed = True
            if reporter.mode == "json":
                fields = {k: v for k, v in error.as_json().items() if k != "event"}
                reporter.event("error", **fields, project=project, version=version)
            else:
                reporter.finish_bars()
                print(f"wharf: {project} {version}: {error}", file=sys.stderr, flush=True)
            continue
        failed |= not _report(result, job, target, reporter)
    return 1 if failed else 0


def _report(result: Result, job: ReleaseUpload, target: Target, reporter: Reporter) -> bool:
    """Tell the user how the release ended; whether it is a success."""
    release, project, version = job.release, job.project, job.version
    skipped = f"; {len(result.skipped)} already published" if result.skipped else ""
    if result.status == "already-published":
        reporter.event(
            "already-published",
            message=f"{release} is already published with these {len(result.skipped)} "
            "file(s); nothing to upload",
            project=project,
            version=version,
            files=result.skipped,
        )
        return True
    if result.status == "rejected":
        for name, notices in result.rejected.items():
            for notice in notices:
                _fail(reporter, f"{name}: {notice}", file=name)
        if result.session is None:
            _fail(
                reporter,
                f"{release} was not published: its files were rejected; fix them and run again",
                project=project,
                version=version,
            )
            return False
        token = result.session["session-token"]
        _fail(
            reporter,
            f"{release} was not published: the rejected file(s) were removed from session "
            f"{short(token)}; fix them and run the same command again (the other files stay "
            f"in the session), or discard it with `wharf session cancel {release}`",
            project=project,
            version=version,
            session=token,
        )
        return False
    assert result.session is not None
    token = result.session["session-token"]
    if result.status == "staged":
        stage = result.session["links"]["stage"]
        reporter.event(
            "staged",
            message=f"staged {release} ({len(result.files)} file(s){skipped}): session {token}\n"
            f"  preview: pip install --extra-index-url {stage} {project}=={version}\n"
            f"  then: wharf session publish {token}   (or: wharf session cancel {token})",
            project=project,
            version=version,
            session=token,
            stage=stage,
            files=result.files,
        )
        return True
    total = len(result.session.get("files", {}))
    reporter.event(
        "published",
        message=f"published {release}: {len(result.files)} file(s) of yours, {total} in the "
        f"session{skipped}; {target.url}/simple/{project}/",
        project=project,
        version=version,
        session=token,
        files=result.files,
    )
    return True


def _interrupted(job: ReleaseUpload, reporter: Reporter) -> None:
    """Ctrl-C: the session stays, with every part S3 holds; say how to go on."""
    if job.session is None:
        message = "interrupted before anything was sent"
        fields: dict[str, Any] = {}
    else:
        token = job.session["session-token"]
        message = (
            f"interrupted: kept session {short(token)} for {job.release} "
            f"({size(reporter.sent)} sent). Run the same command again to resume, or discard "
            f"the upload with `wharf session cancel {job.release}`."
        )
        fields = {"session": token}
    if reporter.mode == "json":
        reporter.event("interrupted", message=message, **fields)
    reporter.close()  # worker threads still running must not write any more
    if reporter.mode != "json":
        print(f"\nwharf: {message}", file=sys.stderr, flush=True)


def _legacy(
    target: Target,
    auth: tuple[str, str],
    releases: dict[tuple[str, str], list[Dist]],
    reporter: Reporter,
    skip_existing: bool,
) -> int:
    url = target.repository_url or target.url
    for dists in releases.values():
        for dist in dists:
            reporter.event("file-start", file=dist.filename, size=dist.size, mechanism="legacy")
            outcome = legacy.upload(url, auth, dist, skip_existing=skip_existing)
            reporter.event("bytes", file=dist.filename, bytes=dist.size, part=1)
            reporter.event("file-done", file=dist.filename, status=f"{outcome} (legacy API)")
    return 0


# --- wharf session ------------------------------------------------------------------------


def _find(api: Upload2, name: str, version: str) -> str:
    """The session URL of a release's open session (through the session list)."""
    try:
        wanted = Version(version)
    except InvalidVersion:
        raise ClientError(f"{version!r} is not a valid version") from None
    project = canonicalize_name(name)
    for entry in api.list_sessions()["sessions"]:
        if entry["name"] == project and Version(entry["version"]) == wanted:
            return str(entry["links"]["session"])
    raise ClientError(
        f"no open session for {project} {version} (`wharf session list` shows the open ones)"
    )


def _print_table(rows: list[list[str]], columns: list[str]) -> None:
    widths = [max(len(str(row[i])) for row in [columns, *rows]) for i in range(len(columns))]
    for row in [[c.upper() for c in columns], *rows]:
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)))


def session(args: argparse.Namespace, stop: Stop) -> int:
    reporter = _reporter(args)
    target = _target(args)
    api = Upload2(target.url, (target.username, target.password), reporter, stop)
    if args.session_command == "list":
        return _session_list(api, args)
    if len(args.target) == 1:
        url = f"{target.url}/upload/{args.target[0]}"
    elif len(args.target) == 2:
        url = _find(api, *args.target)
    else:
        raise ClientError("give a session ID, or a project name and a version")
    status = api.session_status(url)
    if args.session_command == "stage-url":
        print(status["links"]["stage"])
        return 0
    if args.session_command == "publish" and status["status"] != "published":
        reply = api.request_publish(status)
        api.ok(reply, 201, 202, context="publish")
        status = api.wait(url, {"published", "error"}, 300)
    elif args.session_command == "cancel":
        status = api.cancel(status)
    if args.json:
        print(json.dumps(status, indent=2))
    else:
        token = status["session-token"]
        print(f"session {token}: {status['status']} (expires {status['expires-at']})")
        print(f"  stage: {status['links']['stage']}")
        for name, file in status.get("files", {}).items():
            notices = "; ".join(file.get("notices", []))
            print(f"  {name}: {file['status']}" + (f" ({notices})" if notices else ""))
        for notice in status.get("notices", []):
            print(f"  notice: {notice}")
    if args.session_command == "publish" and status["status"] != "published":
        raise ClientError(
            "the session was not published: "
            + ("; ".join(status.get("notices", [])) or status["status"])
        )
    return 0


def _session_list(api: Upload2, args: argparse.Namespace) -> int:
    listed = api.list_sessions()
    sessions = [s for s in listed["sessions"] if s["created-by-this-token"] or not args.mine]
    if args.json:
        print(json.dumps({**listed, "sessions": sessions}, indent=2))
        return 0
    if not sessions:
        print("No open sessions.")
        return 0
    rows = [
        [
            s["session-token"],
            s["name"],
            s["version"],
            s["status"],
            str(s["file-count"]),
            s["expires-at"],
            "yes" if s["created-by-this-token"] else "no",
        ]
        for s in sessions
    ]
    _print_table(rows, ["id", "name", "version", "status", "files", "expires", "yours"])
    if listed.get("truncated"):
        print("(more sessions exist than the server lists at once)")
    return 0
