"""`wharf upload` and `wharf session`: the publisher's everyday commands."""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from packaging.utils import canonicalize_name

from . import legacy
from .client import ClientError
from .credentials import CredentialsError, resolve
from .dists import Dist, inspect
from .progress import Reporter
from .upload2 import NotUpload2, Upload2


def add_commands(commands: argparse._SubParsersAction, common) -> None:
    upload = commands.add_parser("upload", help="upload distributions and publish them")
    common(upload, top=False)
    upload.add_argument("files", nargs="+", metavar="FILE", type=Path)
    upload.add_argument("--stage", action="store_true", help="upload without publishing")
    upload.add_argument("--concurrency", type=int, default=8, help="parallel parts (default 8)")
    upload.add_argument("--part-size", type=int, help="multipart part size in bytes")
    upload.add_argument("--protocol", choices=["auto", "2", "legacy"], default="auto")
    upload.add_argument("--repository", help="a ~/.pypirc section (default: wharf)")

    session = commands.add_parser("session", help="follow up a staged upload")
    session_commands = session.add_subparsers(
        dest="session_command", required=True, metavar="ACTION"
    )
    for name, text in (
        ("status", "show a session"),
        ("publish", "publish it"),
        ("cancel", "cancel it"),
    ):
        action = session_commands.add_parser(name, help=text)
        common(action, top=False)
        action.add_argument("id", metavar="ID", help="the session id (its session token)")
        action.add_argument("--repository", help="a ~/.pypirc section (default: wharf)")


def _reporter(args: argparse.Namespace) -> Reporter:
    if args.json:
        return Reporter("json")
    return Reporter("tty" if sys.stdout.isatty() else "plain")


def _releases(paths: list[Path]) -> dict[tuple[str, str], list[Dist]]:
    groups: dict[tuple[str, str], list[Dist]] = defaultdict(list)
    for path in paths:
        if not path.is_file():
            raise ClientError(f"{path}: no such file")
        try:
            dist = inspect(path)
        except ValueError as error:
            raise ClientError(str(error)) from None
        groups[(canonicalize_name(dist.project), dist.version)].append(dist)
    return groups


def upload(args: argparse.Namespace) -> int:
    """0 when everything asked for happened; 1 when something failed; 130 on Ctrl-C."""
    reporter = _reporter(args)
    try:
        target = resolve(args.url, args.token, args.repository)
    except CredentialsError as error:
        raise ClientError(str(error)) from None
    releases = _releases(args.files)
    auth = (target.username, target.password)
    if args.protocol == "legacy":
        return _legacy(target.repository_url or target.url, auth, releases, reporter)
    client = Upload2(
        target.url, auth, reporter, concurrency=args.concurrency, part_size=args.part_size
    )
    failed = False
    for (project, version), dists in releases.items():
        try:
            session = client.open_session(project, version)
        except NotUpload2:
            if args.protocol == "2":
                raise ClientError(f"{target.url} does not speak Upload 2.0") from None
            reporter.event(
                "notice", message="the server does not speak Upload 2.0; using the legacy API"
            )
            return _legacy(target.repository_url or target.url, auth, releases, reporter)
        try:
            with ThreadPoolExecutor(max_workers=4) as pool:
                verdicts = list(pool.map(client.upload_file, [session] * len(dists), dists))
        except KeyboardInterrupt:
            if not args.stage:
                client.cancel(session)
                reporter.event(
                    "notice", message=f"interrupted: canceled the session for {project} {version}"
                )
            return 130
        bad = [(d, v) for d, v in zip(dists, verdicts, strict=True) if v["status"] != "completed"]
        if bad:
            failed = True
            for dist, verdict in bad:
                for notice in verdict.get("notices") or ["rejected"]:
                    print(f"wharf: {dist.filename}: {notice}", file=sys.stderr)
            print(
                f"wharf: {project} {version} was not published; fix the files and run again "
                f"(or `wharf session cancel {session['session-token']}`)",
                file=sys.stderr,
            )
            continue
        if args.stage:
            reporter.event(
                "staged",
                message=f"staged {project} {version}: session {session['session-token']}\n"
                f"  preview: pip install --extra-index-url {session['links']['stage']} "
                f"{project}=={version}\n"
                f"  then: wharf session publish {session['session-token']}",
                session=session["session-token"],
                stage=session["links"]["stage"],
            )
            continue
        result = client.publish(session)
        if result["status"] != "published":
            failed = True
            print(
                f"wharf: {project} {version}: {'; '.join(result.get('notices', []))}",
                file=sys.stderr,
            )
            continue
        reporter.event(
            "published",
            message=f"published {project} {version}: {target.url}/simple/{project}/",
            project=project,
            version=version,
        )
    return 1 if failed else 0


def _legacy(url: str, auth, releases, reporter: Reporter) -> int:
    for dists in releases.values():
        for dist in dists:
            reporter.event("file-start", file=dist.filename, size=dist.size, mechanism="legacy")
            legacy.upload(url, auth, dist)
            reporter.event("bytes", file=dist.filename, bytes=dist.size, part=1)
            reporter.event("file-done", file=dist.filename, status="uploaded (legacy API)")
    return 0


def session(args: argparse.Namespace) -> int:
    reporter = _reporter(args)
    try:
        target = resolve(args.url, args.token, args.repository)
    except CredentialsError as error:
        raise ClientError(str(error)) from None
    client = Upload2(target.url, (target.username, target.password), reporter)
    url = f"{target.url}/upload/{args.id}"
    status = client.session_status(url)
    if args.session_command == "publish":
        status = client.publish(status)
    elif args.session_command == "cancel":
        status = client.cancel(status)
    if args.json:
        import json

        print(json.dumps(status, indent=2))
    else:
        print(f"session {args.id}: {status['status']} (expires {status['expires-at']})")
        for name, file in status.get("files", {}).items():
            notices = "; ".join(file.get("notices", []))
            print(f"  {name}: {file['status']}" + (f" ({notices})" if notices else ""))
        for notice in status.get("notices", []):
            print(f"  notice: {notice}")
    if args.session_command == "publish" and status["status"] != "published":
        return 1
    return 0
