"""`wharf publisher add|list|remove`: the trusted publishers an admin registers."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import Any

from .client import ClientError, WharfClient

KINDS = ("github", "gitlab", "other")


def add_commands(commands: Any, common: Callable[..., None]) -> None:
    publisher = commands.add_parser(
        "publisher", help="manage trusted publishers: CI jobs that upload without a secret (admin)"
    )
    actions = publisher.add_subparsers(dest="publisher_command", required=True, metavar="ACTION")

    add = actions.add_parser(
        "add",
        help="register a CI identity that may mint short-lived upload tokens",
        description="GitHub: --repository OWNER/NAME --owner-id ID --workflow FILE. GitLab: "
        "--repository NAMESPACE/PROJECT --workflow .gitlab-ci.yml [--issuer URL]. Another "
        "issuer: --issuer URL --claim sub=VALUE [--claim NAME=VALUE ...].",
    )
    common(add, top=False)
    add.add_argument("--kind", required=True, choices=KINDS, help="the CI system (OIDC issuer)")
    add.add_argument("--issuer", help="the issuer URL (self-managed GitLab, or another issuer)")
    add.add_argument("--repository", help="GitHub OWNER/NAME or GitLab project path")
    add.add_argument(
        "--owner-id",
        dest="repository_owner_id",
        help="GitHub's numeric id of the repository's owner (gh api users/OWNER --jq .id)",
    )
    add.add_argument(
        "--workflow", help="GitHub: the file name in .github/workflows; GitLab: the CI config path"
    )
    add.add_argument("--environment", help="only jobs in this deployment environment")
    add.add_argument("--ref", help="GitHub: only runs whose ref matches, e.g. 'refs/tags/v*'")
    add.add_argument(
        "--claim",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="another issuer: a claim the token must carry (repeatable; 'sub' is required)",
    )
    add.add_argument(
        "--project",
        action="append",
        required=True,
        metavar="PATTERN",
        help="project-name pattern it may upload to (repeatable; '*' is a wildcard)",
    )
    add.add_argument(
        "--upload-only",
        action="store_true",
        help="its tokens may upload and stage but not publish (a person publishes the session)",
    )
    add.add_argument("--description", default="", help="what it is for")

    listing = actions.add_parser("list", help="list trusted publishers")
    common(listing, top=False)

    remove = actions.add_parser("remove", help="remove a trusted publisher (at once)")
    common(remove, top=False)
    remove.add_argument("id", metavar="ID", help="its id, as `wharf publisher list` shows")


def _request(args: argparse.Namespace) -> dict[str, Any]:
    claims = {}
    for item in args.claim:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise ClientError(f"--claim takes NAME=VALUE, got {item!r}")
        claims[name] = value
    body: dict[str, Any] = {
        "kind": args.kind,
        "projects": args.project,
        "may_publish": not args.upload_only,
        "description": args.description,
    }
    for field in ("issuer", "repository", "repository_owner_id", "workflow", "environment", "ref"):
        value = getattr(args, field)
        if value:
            body[field] = value
    if claims:
        body["claims"] = claims
    return body


def describe(publisher: dict[str, Any]) -> str:
    if publisher["kind"] == "other":
        who = " ".join(f"{k}={v}" for k, v in sorted(publisher.get("claims", {}).items()))
        where = f"{publisher['issuer']} {who}"
    else:
        where = f"{publisher['kind']} {publisher.get('repository')} {publisher.get('workflow')}"
        if publisher["kind"] == "gitlab" and publisher["issuer"] != "https://gitlab.com":
            where += f" ({publisher['issuer']})"
    for field in ("environment", "ref"):
        if publisher.get(field):
            where += f" {field}={publisher[field]}"
    may = "upload and publish" if publisher["may_publish"] else "upload only"
    return f"{where}; projects {', '.join(publisher['projects'])}; {may}"


def run(args: argparse.Namespace, client: WharfClient) -> None:
    action = args.publisher_command
    if action == "add":
        created = client.add_publisher(_request(args))
        if args.json:
            print(json.dumps(created, indent=2, sort_keys=True))
        else:
            print(f"Added trusted publisher {created['id']}: {describe(created)}.")
    elif action == "list":
        publishers = client.list_publishers()
        if args.json:
            print(json.dumps(publishers, indent=2, sort_keys=True))
        elif not publishers:
            print("No trusted publishers.")
        for publisher in [] if args.json else publishers:
            print(f"{publisher['id']}  {describe(publisher)}")
    else:
        client.remove_publisher(args.id)
        if args.json:
            print(json.dumps({"id": args.id, "removed": True}))
        else:
            print(f"Removed trusted publisher {args.id}.")
