"""The two ways in: `wharf upload` (Upload 2.0) and twine (the legacy API), run as real
clients, with every file's verdict in the server's own words.

The parsers of the clients' output are pure; ``Upload2Door`` and ``TwineDoor`` run the
commands.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import requests

from tests.e2e.conftest import BIN, Stack

from .model import ACCEPTED, CLIENT, REFUSED, SKIPPED, TWINE, UPLOAD2, Verdict
from .stack import client_env

V2 = "application/vnd.pypi.upload.v2+json"
LEGACY_LIMIT = 4 * 1024 * 1024  # WHARF_INLINE_LIMIT_BYTES' default: the legacy API's ceiling

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


@dataclass(frozen=True)
class Upload2Output:
    """What one `wharf upload --json` said: per-file verdicts and the command's own errors."""

    verdicts: dict[str, tuple[str, list[str]]]  # filename -> (status, notices)
    errors: list[str]  # `wharf: ...` lines not about one file
    published: bool


def parse_upload2(stdout: str, stderr: str, filenames: list[str]) -> Upload2Output:
    """Read `wharf upload --json`'s events (stdout) and its error lines (stderr)."""
    verdicts: dict[str, tuple[str, list[str]]] = {}
    published = False
    for line in stdout.splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if not isinstance(event, dict):
            continue
        if event.get("event") in ("file-done", "file-skipped") and event.get("file"):
            status = "completed" if event["event"] == "file-skipped" else str(event.get("status"))
            verdicts[event["file"]] = (status, [str(n) for n in event.get("notices") or []])
        elif event.get("event") in ("published", "staged"):
            published = True
    per_file = tuple(f"wharf: {name}: " for name in filenames)
    errors = [
        line.removeprefix("wharf: ").strip()
        for line in stderr.splitlines()
        if line.startswith("wharf: ") and not line.startswith(per_file)
    ]
    return Upload2Output(verdicts, errors, published)


def parse_twine(output: str) -> str:
    """The server's reason from `twine upload --verbose` output, or twine's own error.

    twine logs the response's status line and then its body; rich may wrap a long body
    onto indented continuation lines, which are joined again.
    """
    lines = [_ANSI.sub("", line).rstrip() for line in output.splitlines()]
    levels = ("INFO", "ERROR", "WARNING", "DEBUG")
    for index, line in enumerate(lines):
        if line.startswith("INFO") and "Response from" in line:
            body: list[str] = []
            for following in lines[index + 2 :]:
                if following.startswith("ERROR") or (following.startswith(levels) and body):
                    break
                if not following.strip():
                    if body:
                        break
                    continue
                body.append(following.removeprefix("INFO").strip())
            if body:
                return " ".join(body)
    for index, line in enumerate(lines):
        if line.startswith("ERROR"):
            rest = [line.removeprefix("ERROR").strip()]
            for following in lines[index + 1 :]:
                if not following.strip() or following.startswith(levels):
                    break
                rest.append(following.strip())
            return " ".join(rest)
    tail = [line.strip() for line in lines if line.strip()]
    return tail[-1] if tail else "no output"


def is_client_refusal(output: str) -> bool:
    """Whether twine gave up before any request (it prints its own error, no response)."""
    text = _ANSI.sub("", output)
    return "Response from" not in text and "HTTPError" not in text


def _run(args: list[str], env: dict[str, str], timeout: float) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(args, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as error:
        out = error.stdout or ""
        out = out.decode(errors="replace") if isinstance(out, bytes) else out
        return subprocess.CompletedProcess(
            args, 124, out, f"wharf: timed out after {timeout:.0f} s"
        )


class Upload2Door:
    """Publishes a release with `wharf upload`, then finds out which file caused a refusal.

    A release is published all or nothing. When it is refused, each file the validator
    gave no verdict (the command stopped first) is tried alone in the same, still open
    session with ``--stage``; then, if some files passed, the session is canceled and the
    release is published again without the refused ones, so that every file gets its own
    verdict. A session whose files were all refused is left to expire with the stack.
    """

    def __init__(self, stack: Stack, token: str, timeout: float = 900) -> None:
        self._stack = stack
        self._token = token
        self._timeout = timeout
        self._env = client_env(stack, token)

    def _upload(self, paths: list[Path], *, stage: bool = False) -> Upload2Output:
        args = [str(BIN / "wharf"), "upload", "--json"]
        if stage:
            args.append("--stage")
        result = _run([*args, *map(str, paths)], self._env, self._timeout)
        output = parse_upload2(result.stdout, result.stderr, [p.name for p in paths])
        if result.returncode == 0:
            return output
        said = output.errors or [s for s, _ in output.verdicts.values() if s == "error"]
        if not said:
            tail = result.stderr.strip().splitlines()[-1:] or [f"exit {result.returncode}"]
            output = replace(output, errors=tail)
        return replace(output, published=False)

    def cancel_open_session(self, project: str, version: str) -> None:
        """Cancel the release's open session (PEP 694: creating another answers 409 with
        its Location)."""
        auth = ("__token__", self._token)
        body = {"meta": {"api-version": "2.0"}, "name": project, "version": version}
        headers = {"Content-Type": V2, "Accept": V2}
        reply = requests.post(
            f"{self._stack.url}/upload/", json=body, headers=headers, auth=auth, timeout=120
        )
        if reply.status_code == 409 and reply.headers.get("Location"):
            location = reply.headers["Location"]
        elif reply.status_code == 201:
            location = reply.json()["links"]["session"]
        else:
            return
        requests.delete(location, headers={"Accept": V2}, auth=auth, timeout=120)

    def publish(self, project: str, version: str, paths: list[Path]) -> list[Verdict]:
        """Every file's verdict; ``project`` and ``version`` as the client groups them."""
        first = self._upload(paths)
        if first.published:
            return [Verdict(p.name, UPLOAD2, ACCEPTED) for p in paths]
        session_open = True  # the refused upload leaves its session open
        refused: dict[str, str] = {}
        unknown: list[Path] = []
        for path in paths:
            status, notices = first.verdicts.get(path.name, ("", []))
            if status == "error":
                refused[path.name] = "; ".join(notices) or "error (no notice)"
            elif not status:
                unknown.append(path)
        if len(paths) == 1 and unknown:
            refused[paths[0].name] = "; ".join(first.errors)
            unknown = []
        for path in unknown:
            # Alone, in a session of its own: a sibling's refusal must not decide its verdict.
            self.cancel_open_session(project, version)
            alone = self._upload([path], stage=True)
            status, notices = alone.verdicts.get(path.name, ("", []))
            if status == "error":
                refused[path.name] = "; ".join(notices) or "error (no notice)"
            elif status != "completed":
                refused[path.name] = "; ".join(alone.errors) or "no verdict"
        if not refused:
            # Every file passed on its own: the release as a whole was refused.
            reason = "; ".join(first.errors) or "not published"
            return [Verdict(p.name, UPLOAD2, REFUSED, f"release: {reason}") for p in paths]
        verdicts = [Verdict(name, UPLOAD2, REFUSED, reason) for name, reason in refused.items()]
        rest = [p for p in paths if p.name not in refused]
        if not rest:
            return verdicts
        if session_open:
            self.cancel_open_session(project, version)
        second = self._upload(rest)
        if second.published:
            return verdicts + [Verdict(p.name, UPLOAD2, ACCEPTED) for p in rest]
        reason = "; ".join(second.errors) or "not published"
        return verdicts + [
            Verdict(p.name, UPLOAD2, REFUSED, f"release without the refused files: {reason}")
            for p in rest
        ]


class TwineDoor:
    """Publishes files with `twine upload` to the legacy API, one release per command and,
    when that fails, each file the index does not list yet in a command of its own.

    Not ``--skip-existing``: it counts any "File already exists" answer as success, and a
    server may give that answer for a file it did not take."""

    def __init__(self, stack: Stack, token: str, timeout: float = 300) -> None:
        self._url = f"{stack.url}/legacy/"
        self._simple = f"{stack.url}/simple/"
        self._token = token
        self._timeout = timeout
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TWINE_", "WHARF_"))}
        # rich wraps at the terminal's width (80 without one) and colours its output.
        env.update(COLUMNS="400", NO_COLOR="1")
        self._env = env

    def _twine(self, paths: list[Path]) -> subprocess.CompletedProcess:
        args = [
            str(BIN / "twine"),
            "upload",
            "--verbose",
            "--non-interactive",
            "--disable-progress-bar",
            "--repository-url",
            self._url,
            "-u",
            "__token__",
            "-p",
            self._token,
            *map(str, paths),
        ]
        return _run(args, self._env, self._timeout)

    def _listed(self, project: str) -> set[str]:
        reply = requests.get(
            f"{self._simple}{project}/",
            headers={"Accept": "application/vnd.pypi.simple.v1+json"},
            auth=("__token__", self._token),
            timeout=60,
        )
        if reply.status_code != 200:
            return set()
        return {f["filename"] for f in reply.json().get("files", [])}

    def publish(
        self, project: str, paths: list[Path], fits: Callable[[Path], bool]
    ) -> list[Verdict]:
        verdicts = [
            Verdict(p.name, TWINE, SKIPPED, "over the legacy API's 4 MiB limit")
            for p in paths
            if not fits(p)
        ]
        small = [p for p in paths if fits(p)]
        if not small:
            return verdicts
        if self._twine(small).returncode == 0:
            return verdicts + [Verdict(p.name, TWINE, ACCEPTED) for p in small]
        # twine stops at the first refusal; the files before it are published.
        listed = self._listed(project)
        for path in small:
            if path.name in listed:
                verdicts.append(Verdict(path.name, TWINE, ACCEPTED))
                continue
            result = self._twine([path])
            output = result.stdout + "\n" + result.stderr
            if result.returncode == 0:
                verdicts.append(Verdict(path.name, TWINE, ACCEPTED))
            elif is_client_refusal(output):
                verdicts.append(Verdict(path.name, TWINE, CLIENT, parse_twine(output)))
            else:
                verdicts.append(Verdict(path.name, TWINE, REFUSED, parse_twine(output)))
        return verdicts
