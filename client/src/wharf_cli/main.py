"""`wharf`: uploads, sessions, tokens and moderation for a wharf index."""

from __future__ import annotations

import argparse
import json
import re
import signal
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, NoReturn

from packaging.utils import InvalidSdistFilename, InvalidWheelFilename

from . import publisher_command, upload_command
from .client import ClientError, WharfClient
from .credentials import CredentialsError, resolve
from .dists import release_of
from .transport import VERSION
from .workers import Stop


class UsageError(ClientError):
    pass


class Parser(argparse.ArgumentParser):
    """argparse, except that under --json a usage error is a JSON line too."""

    json_errors = False

    def error(self, message: str) -> NoReturn:
        if Parser.json_errors:
            print(json.dumps({"event": "error", "message": f"{self.prog}: {message}"}))
            raise SystemExit(2)
        super().error(message)


def _common(parser: argparse.ArgumentParser, *, top: bool) -> None:
    # Subcommands repeat the global options so they may come after the command;
    # SUPPRESS keeps a subcommand from overwriting a value given before it.
    default = None if top else argparse.SUPPRESS
    parser.add_argument(
        "--url",
        default=default,
        help="the server's root, e.g. https://pkgs.example.com (default: $WHARF_URL)",
    )
    parser.add_argument("--token", default=default, help="API token (default: $WHARF_TOKEN)")
    parser.add_argument(
        "--json",
        action="store_true",
        default=False if top else argparse.SUPPRESS,
        help="print machine-readable JSON, errors included",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="wharf",
        description="Client for a wharf package index. The server comes from --url, "
        "WHARF_URL or ~/.pypirc; the token from --token, WHARF_TOKEN, ~/.pypirc or keyring.",
    )
    _common(parser, top=True)
    parser.add_argument("--version", action="version", version=f"wharf {VERSION}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    token = commands.add_parser("token", help="manage API tokens (admin)")
    token_commands = token.add_subparsers(dest="token_command", required=True, metavar="ACTION")

    create = token_commands.add_parser("create", help="create a token and print its secret once")
    _common(create, top=False)
    create.add_argument(
        "--role",
        required=True,
        choices=["read", "upload", "admin"],
        help="read: install; upload: publish the --project patterns (and read them); admin: all",
    )
    create.add_argument(
        "--project",
        action="append",
        default=[],
        metavar="PATTERN",
        help="project-name pattern an upload token may publish (repeatable; '*' is a wildcard)",
    )
    create.add_argument(
        "--no-publish",
        dest="publish",
        action="store_false",
        help="upload token without the publish permission: it may open sessions, send files "
        "and stage (`wharf upload --stage`), but not publish or cancel a session",
    )
    create.add_argument("--expires", type=int, metavar="DAYS", help="expire after DAYS days")
    create.add_argument("--description", default="", help="what the token is for")

    listing = token_commands.add_parser("list", help="list tokens (never their secrets)")
    _common(listing, top=False)

    revoke = token_commands.add_parser("revoke", help="revoke a token by id")
    _common(revoke, top=False)
    revoke.add_argument("id", metavar="ID", help="the token's id, as `wharf token list` shows")

    for name, text in (("yank", "yank a file or a version (PEP 592)"), ("unyank", "undo a yank")):
        command = commands.add_parser(name, help=text)
        _common(command, top=False)
        command.add_argument(
            "target", metavar="FILE_OR_VERSION", help="a filename, or a version (all its files)"
        )
        command.add_argument("--project", help="the project (needed when a version is given)")
        command.add_argument("--reason", help="why (shown to installers)")

    upload_command.add_commands(commands, _common)
    publisher_command.add_commands(commands, _common)

    audit = commands.add_parser(
        "audit",
        help="read the audit trail (admin)",
        description="Who did what, newest first: tokens, sessions, files, publishes, "
        "cancels, yanks, project status and failed authentications.",
    )
    _common(audit, top=False)
    audit.add_argument("--project", help="only events of this project")
    audit.add_argument("--actor", help="only events by this token id (or publisher:ID)")
    audit.add_argument(
        "--since", metavar="TIME", help="only events at or after TIME (RFC 3339, with a zone)"
    )
    audit.add_argument("--oldest-first", action="store_true", help="oldest events first")
    audit.add_argument(
        "--limit", type=int, default=100, metavar="N", help="show at most N events (default 100)"
    )

    project = commands.add_parser("project", help="project administration")
    project_commands = project.add_subparsers(
        dest="project_command", required=True, metavar="ACTION"
    )
    status = project_commands.add_parser("status", help="set a project's status (PEP 792)")
    _common(status, top=False)
    status.add_argument("name", metavar="NAME", help="the project's name")
    status.add_argument(
        "status",
        choices=["active", "archived", "deprecated", "quarantined"],
        help="the new status; quarantined hides the project's files",
    )
    status.add_argument("--reason", help="why (shown to installers)")
    settings = project_commands.add_parser("settings", help="change a project's settings")
    _common(settings, top=False)
    settings.add_argument("name", metavar="NAME", help="the project's name")
    settings.add_argument(
        "--uploaders-cancel-own",
        required=True,
        choices=["yes", "no"],
        help="whether upload-only tokens may cancel the sessions they opened themselves",
    )
    return parser


def _client(args: argparse.Namespace) -> WharfClient:
    try:
        target = resolve(args.url, args.token, None)
    except CredentialsError as error:
        raise UsageError(str(error)) from None
    command = " ".join(
        part
        for part in (
            args.command,
            getattr(args, "token_command", None)
            or getattr(args, "project_command", None)
            or getattr(args, "publisher_command", None),
        )
        if part
    )
    return WharfClient(target.url, (target.username, target.password), command)


def _print_json(value: Any) -> None:
    print(json.dumps(value, indent=2, sort_keys=True))


def _describe(token: dict[str, Any]) -> str:
    parts = [token["role"]]
    if token["role"] == "upload":
        parts.append("permissions " + "+".join(token.get("permissions", ["upload", "publish"])))
    if token.get("projects"):
        parts.append("projects " + ", ".join(token["projects"]))
    parts.append(f"expires {token['expires_at']}" if token.get("expires_at") else "never expires")
    return "; ".join(parts)


def _token_create(args: argparse.Namespace) -> None:
    created = _client(args).create_token(
        role=args.role,
        projects=args.project,
        expires_days=args.expires,
        description=args.description,
        publish=args.publish,
    )
    if args.json:
        _print_json(created)
        return
    print(f"Created token {created['id']} ({_describe(created)}).")
    print(created["token"])
    print("Store it now: wharf keeps only a hash and cannot show it again.", file=sys.stderr)


def _token_list(args: argparse.Namespace) -> None:
    tokens = _client(args).list_tokens()
    if args.json:
        _print_json(tokens)
        return
    if not tokens:
        print("No tokens.")
        return
    columns = [
        "id",
        "role",
        "permissions",
        "status",
        "projects",
        "created",
        "expires",
        "last used",
        "description",
    ]
    rows = [
        [
            t["id"],
            t["role"],
            ",".join(t.get("permissions", [])) or "-",
            t["status"],
            ",".join(t["projects"]) or "-",
            t["created_at"] or "-",
            t["expires_at"] or "never",
            t["last_used_at"] or "never",
            t["description"] or "",
        ]
        for t in tokens
    ]
    widths = [max(len(str(row[i])) for row in [columns, *rows]) for i in range(len(columns))]
    for row in [[c.upper() for c in columns], *rows]:
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)))


def _token_revoke(args: argparse.Namespace) -> None:
    _client(args).revoke_token(args.id)
    if args.json:
        _print_json({"id": args.id, "revoked": True})
    else:
        print(f"Revoked token {args.id}.")


def _project_of(args: argparse.Namespace) -> str:
    if args.project:
        return str(args.project)
    try:
        return release_of(str(args.target))[0]
    except (InvalidWheelFilename, InvalidSdistFilename):
        raise UsageError(f"{args.target!r} is not a distribution's filename") from None
    except ValueError:
        raise UsageError("give --project when yanking a version") from None


def _yank(args: argparse.Namespace, *, yanked: bool) -> None:
    result = _client(args).yank(_project_of(args), args.target, args.reason, yanked=yanked)
    if args.json:
        _print_json(result)
        return
    verb = "Yanked" if yanked else "Unyanked"
    print(f"{verb} {', '.join(result['files'])} of {result['project']}.")


def _project_status(args: argparse.Namespace) -> None:
    result = _client(args).project_status(args.name, args.status, args.reason)
    if args.json:
        _print_json(result)
    else:
        print(f"{result['project']} is now {result['status']}.")


def _audit(args: argparse.Namespace) -> None:
    if args.limit < 1:
        raise UsageError("--limit must be at least 1")
    events = list(
        _client(args).audit(
            project=args.project,
            actor=args.actor,
            since=args.since,
            oldest_first=args.oldest_first,
            limit=args.limit,
        )
    )
    if args.json:
        _print_json(events)
        return
    if not events:
        print("No events.")
        return
    rows = []
    for e in events:
        what = " ".join(str(x) for x in (e.get("project"), e.get("version")) if x) or "-"
        about = e.get("subject") or ""
        if e.get("reason"):
            about += f" ({e['reason']})"
        if e.get("count", 1) > 1:
            about += f" x{e['count']}"
        rows.append([e["at"], e["kind"], e["actor"], what, about])
    columns = ["time", "event", "actor", "release", "about"]
    widths = [max(len(str(row[i])) for row in [columns, *rows]) for i in range(len(columns) - 1)]
    for row in [[c.upper() for c in columns], *rows]:
        cells = [str(c).ljust(w) for c, w in zip(row, widths, strict=False)]
        print("  ".join([*cells, str(row[-1])]))


def _project_settings(args: argparse.Namespace) -> None:
    allowed = args.uploaders_cancel_own == "yes"
    result = _client(args).project_settings(args.name, uploaders_cancel_own=allowed)
    if args.json:
        _print_json(result)
    else:
        may = "may" if result["uploaders_cancel_own"] else "may not"
        print(f"Upload-only tokens {may} cancel their own sessions of {result['project']}.")


_COMMANDS = {
    ("token", "create"): _token_create,
    ("token", "list"): _token_list,
    ("token", "revoke"): _token_revoke,
    ("yank", None): lambda args: _yank(args, yanked=True),
    ("unyank", None): lambda args: _yank(args, yanked=False),
    ("project", "status"): _project_status,
    ("project", "settings"): _project_settings,
    ("audit", None): _audit,
}


@contextmanager
def _sigterm_interrupts() -> Iterator[None]:
    """A CI runner cancels a job with SIGTERM: treat it as Ctrl-C (keep, say how to resume)."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, interrupt)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _error(error: ClientError, as_json: bool) -> None:
    if as_json:
        print(json.dumps(error.as_json()), flush=True)
    else:
        print(f"wharf: {error}", file=sys.stderr, flush=True)


# A session's token (32 URL-safe characters) that begins with '-': one in 64 did, until
# the server stopped making them.
_DASHED_TOKEN = re.compile(r"-[A-Za-z0-9_-]{31}")


def dashed_session_tokens(argv: list[str]) -> list[str]:
    """``wharf session ACTION -Xyz...``: argparse would take the token for an option and
    say the ID is missing, so it is passed after ``--``, where only arguments go."""
    if argv[:1] != ["session"] or "--" in argv:
        return argv
    tokens = [arg for arg in argv[2:] if _DASHED_TOKEN.fullmatch(arg)]
    if not tokens:
        return argv
    return argv[:2] + [arg for arg in argv[2:] if arg not in tokens] + ["--", *tokens]


def main(argv: Sequence[str] | None = None) -> int:
    argv = dashed_session_tokens(list(sys.argv[1:] if argv is None else argv))
    as_json = "--json" in argv
    Parser.json_errors = as_json
    args = build_parser().parse_args(argv)
    stop = Stop()
    try:
        with _sigterm_interrupts():
            if args.command == "upload":
                return upload_command.upload(args, stop)
            if args.command == "session":
                return upload_command.session(args, stop)
            if args.command == "publisher":
                publisher_command.run(args, _client(args))
                return 0
            sub = getattr(args, "token_command", None) or getattr(args, "project_command", None)
            _COMMANDS[(args.command, sub)](args)
    except ClientError as error:
        _error(error, as_json)
        return 1
    except KeyboardInterrupt:
        stop.set()
        return 130
    except Exception as error:
        if not as_json:
            raise
        _error(ClientError(f"internal error: {type(error).__name__}: {error}"), as_json)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
