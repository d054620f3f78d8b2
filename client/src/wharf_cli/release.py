"""One release through Upload 2.0: what `wharf upload` does for each name and version.

Several jobs uploading files of one release at the same moment (a CI matrix) meet in
the release's one publishing session: the server answers a second create with 409 and
the open session's ``Location``, and a job joins it. Each job registers all its files
before sending any bytes, and asks to publish only once every file in the session is
completed, so jobs that overlap publish one release, all at once. A job whose files
are in a session that is being published waits for it; a job that arrives after a
publish opens a new session for the same release and adds its files to it (PEP 694
lets a release grow, as PyPI does). The server's conditional writes decide every race:
a file added while a publish starts fails, and the job retries in the next session.
docs/ci.md describes this for users.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from .client import ClientError, error_from
from .dists import Dist
from .upload2 import EDITABLE, FILE_WORKERS, REGISTER_WORKERS, Backoff, Upload2
from .workers import run_all

MAX_ROUNDS = 10  # sessions one run may try: each new round means another job published


def short(token: str) -> str:
    """Enough of a session token to tell sessions apart in a CI log. The whole token is
    the stage preview's credential, so messages name the release instead
    (`wharf session cancel NAME VERSION` finds its session)."""
    return token[:8] + "..."


class SessionClosed(Exception):
    """The session stopped accepting files while this run was adding its own."""


@dataclass(frozen=True)
class Options:
    stage: bool = False
    skip_existing: bool = False
    wait: float = 900.0  # seconds a wait may last with nothing changing in the session
    file_workers: int = FILE_WORKERS


@dataclass
class Result:
    status: str  # published | staged | already-published | rejected
    session: dict[str, Any] | None = None
    files: list[str] = field(default_factory=list)  # ours in the published or staged session
    skipped: list[str] = field(default_factory=list)  # published before this run
    rejected: dict[str, list[str]] = field(default_factory=dict)  # filename → notices
    # session is None for a rejected upload whose emptied session was canceled


def _same(file: dict[str, Any], dist: Dist) -> bool:
    return file.get("size") == dist.size and file.get("hashes", {}).get("sha256") == dist.sha256


def _some(files: dict[str, str], shown: int = 3) -> str:
    """A few of the files with their status, and how many more: a CI log line stays short."""
    named = [f"{name} ({status})" for name, status in sorted(files.items())[:shown]]
    more = f" and {len(files) - shown} more" if len(files) > shown else ""
    return ", ".join(named) + more


class ReleaseUpload:
    def __init__(
        self, api: Upload2, project: str, version: str, dists: list[Dist], options: Options
    ) -> None:
        self.api = api
        self.project = project
        self.version = version
        self.dists = dists
        self.options = options
        self.session: dict[str, Any] | None = None  # where our files are going now
        self._reporter = api.reporter

    @property
    def release(self) -> str:
        """The project and version; also how `wharf session ACTION` names its session."""
        return f"{self.project} {self.version}"

    def run(self) -> Result:
        pending, skipped = self._without_published(self.dists)
        if not pending:
            return Result("already-published", skipped=skipped)
        for _ in range(MAX_ROUNDS):
            session, created = self.api.open_session(self.project, self.version)
            self.session = session
            self._announce(session, created)
            if session["status"] not in EDITABLE:
                settled = self._wait_until_settled(session)
                before = [d.filename for d in pending]
                pending = self._without_those_in(settled, pending)
                if not pending:
                    return Result("published", settled, before, skipped)
                continue
            try:
                files = self._register(session, pending)
            except SessionClosed:
                continue
            run_all(
                lambda pair: self.api.transfer(pair[1], pair[0]),
                [(d, f) for d, f in zip(pending, files, strict=True) if f["status"] == "pending"],
                workers=self.options.file_workers,
                stop=self.api.stop,
            )
            rejected, seen = self._verdicts(session, pending)
            if rejected:
                left = self._drop_if_empty(session)
                return Result("rejected", left, skipped=skipped, rejected=rejected)
            names = [d.filename for d in pending]
            if self.options.stage:
                return Result("staged", session, names, skipped)
            published = self._publish(seen, set(names))
            if published is not None:
                return Result("published", published, names, skipped)
        raise ClientError(
            f"{self.release}: gave up after {MAX_ROUNDS} sessions closed under this upload"
        )

    # --- what is published already ---------------------------------------------------

    def _without_published(self, dists: list[Dist]) -> tuple[list[Dist], list[str]]:
        """The files still to upload, and those published identically before this run.

        Published with other bytes is always an error: a filename is published once.
        Some published and some not needs --skip-existing, as with twine.
        """
        published = self.api.published_files(self.project)
        if not published:
            return dists, []
        different = [
            d for d in dists if d.filename in published and published[d.filename] != d.sha256
        ]
        if different:
            listed = ", ".join(
                f"{d.filename} (published sha256 {published[d.filename][:12]}…, "
                f"yours {d.sha256[:12]}…)"
                for d in different
            )
            raise ClientError(
                f"already published with other contents: {listed}. A filename can be "
                "published only once; build a new version"
            )
        same = [d for d in dists if d.filename in published]
        if same and len(same) < len(dists) and not self.options.skip_existing:
            raise ClientError(
                f"{len(same)} of these files are already published ("
                + ", ".join(d.filename for d in same)
                + "); pass --skip-existing to upload only the others, as with twine"
            )
        for dist in same:
            self._reporter.event("file-skipped", file=dist.filename, status="already published")
        return [d for d in dists if d.filename not in published], [d.filename for d in same]

    def _without_those_in(self, session: dict[str, Any], dists: list[Dist]) -> list[Dist]:
        """Drop the files a just-published session holds with our bytes."""
        if session["status"] != "published":
            return dists
        rest = []
        for dist in dists:
            entry = session.get("files", {}).get(dist.filename)
            if entry is None:
                rest.append(dist)
                continue
            if not _same(self.api.file_status(entry["link"]), dist):
                raise ClientError(
                    f"{dist.filename} was just published by another upload with other contents"
                )
            self._reporter.event(
                "file-skipped", file=dist.filename, status="published (in this session)"
            )
        return rest

    # --- one session ----------------------------------------------------------------------

    def _announce(self, session: dict[str, Any], created: bool) -> None:
        token = session["session-token"]
        if created:
            text = f"opened session {short(token)} for {self.release}"
        elif session["status"] in EDITABLE:
            text = f"joined the open session {short(token)} for {self.release}"
        else:
            text = f"session {short(token)} for {self.release} is {session['status']}"
        self._reporter.event(
            "session", message=text, session=token, created=created, status=session["status"]
        )

    def _wait_until_settled(self, session: dict[str, Any]) -> dict[str, Any]:
        """Wait while the session is being published; its state afterwards."""
        self._reporter.event(
            "waiting",
            message=f"a publish of {self.release} is in progress; waiting for it to finish",
        )
        settled = self.api.wait(
            session["links"]["session"], {"published", "canceled", *EDITABLE}, self.options.wait
        )
        if settled["status"] == "processing":
            raise ClientError(
                f"{self.release}: session {short(session['session-token'])} has been "
                f"publishing for {self.options.wait:.0f} s; try again later"
            )
        return settled

    def _register(self, session: dict[str, Any], dists: list[Dist]) -> list[dict[str, Any]]:
        """Put every file in the session (or find it there) before any bytes are sent, so
        that no other job publishes the session without them."""
        return run_all(
            lambda dist: self._register_one(session, dist),
            dists,
            workers=REGISTER_WORKERS,
            stop=self.api.stop,
        )

    def _register_one(self, session: dict[str, Any], dist: Dist) -> dict[str, Any]:
        """The file upload session for ``dist``: found in the session (a resumed run, or
        another job sending the identical file), or created."""
        entry = session.get("files", {}).get(dist.filename)
        if entry is not None:
            current = self.api.file_status(entry["link"])
            if _same(current, dist) and current["status"] != "error":
                return current
            if current["status"] != "error":
                raise ClientError(
                    f"{dist.filename} is already in session {short(session['session-token'])} with "
                    "other contents: another job is uploading a file of that name (upload each "
                    "file, an sdist for one, from one job only), or an earlier run was "
                    f"followed by a rebuild (`wharf session cancel {self.release}` "
                    "starts over)"
                )
            self.api.delete_file(entry["link"])  # rejected before: this is a new try
        reply = self.api.create_file(session, dist)
        if reply.status_code == 202:
            return self.api.ok(reply, 202)
        if reply.status_code == 409:
            now = self.api.session_status(session["links"]["session"])
            if now["status"] not in EDITABLE:
                raise SessionClosed()
            if dist.filename in now.get("files", {}):  # another job added it meanwhile
                return self._register_one(now, dist)
        raise error_from(reply, dist.filename)

    def _verdicts(
        self, session: dict[str, Any], dists: list[Dist]
    ) -> tuple[dict[str, list[str]], dict[str, Any]]:
        """Wait for the validator's verdict on each of our files; the rejected ones (with
        their notices) are deleted from the session so they hold up no other job. Returns
        them, and the session as last seen (publishing starts from it, without a GET)."""
        url = session["links"]["session"]
        waiting = {d.filename for d in dists}
        rejected: dict[str, list[str]] = {}
        deadline = time.monotonic() + self.options.wait
        backoff = Backoff()
        while waiting:
            reply = self.api.call("GET", url)
            current = self.api.ok(reply, 200)
            if current["status"] == "canceled":
                raise ClientError(f"session {short(session['session-token'])} was canceled")
            files = current.get("files", {})
            for name in sorted(waiting):
                entry = files.get(name)
                if entry is None:
                    raise ClientError(
                        f"{name} left session {short(session['session-token'])} (deleted by "
                        "another upload?); run again"
                    )
                if entry["status"] in ("completed", "error"):
                    waiting.discard(name)
                    deadline = time.monotonic() + self.options.wait
                    backoff.reset()  # the matrix's other files tend to follow
                    self._reporter.event(
                        "file-done", file=name, status=entry["status"], notices=entry["notices"]
                    )
                    if entry["status"] == "error":
                        rejected[name] = entry["notices"] or ["rejected"]
                        self.api.delete_file(entry["link"])
            if waiting and time.monotonic() > deadline:
                raise ClientError(
                    f"no verdict on {', '.join(sorted(waiting))} after {self.options.wait:.0f} s"
                )
            if waiting:
                self.api.stop.sleep(backoff.delay(reply))
        return rejected, current

    def _drop_if_empty(self, session: dict[str, Any]) -> dict[str, Any] | None:
        """Cancel a session that holds no file any more, rather than leave it open; a job
        that joined it meanwhile moves on to a new session. The session, or ``None``."""
        current = self.api.session_status(session["links"]["session"])
        if current.get("files") or current["status"] not in EDITABLE:
            return current
        reply = self.api.call("DELETE", current["links"]["session"])
        return current if reply.status_code != 200 else None

    def _publish(self, seen: dict[str, Any], ours: set[str]) -> dict[str, Any] | None:
        """Publish once every file in the session is completed (other jobs' too), starting
        from the session as ``seen`` last.

        Returns the published session; ``None`` if it was published without our files.
        """
        url = seen["links"]["session"]
        pending: dict[str, Any] | None = seen
        requested = False
        refused = 0
        last: object = None
        announced: object = None
        deadline = time.monotonic() + self.options.wait
        backoff = Backoff()
        while True:
            current, pending = pending or self.api.session_status(url), None
            status, files = current["status"], current.get("files", {})
            state = (status, sorted((n, f["status"]) for n, f in files.items()))
            if state != last:
                last, deadline = state, time.monotonic() + self.options.wait
                backoff.reset()
            if status == "published":
                return current if ours <= set(files) else None
            if status == "canceled":
                raise ClientError(
                    f"session {short(current['session-token'])} was canceled before it was "
                    f"published ({'; '.join(current.get('notices', [])) or 'canceled'}); run again"
                )
            if status in EDITABLE:
                if status == "error" and requested:
                    raise ClientError(
                        f"publishing {self.release} failed: "
                        + ("; ".join(current.get("notices", [])) or "no reason given")
                        + "; run again to retry"
                    )
                unready = {n: f["status"] for n, f in files.items() if f["status"] != "completed"}
                if not unready:
                    reply = self.api.request_publish(current)
                    if reply.status_code in (201, 202):
                        requested = True
                        continue
                    refused += 1
                    if reply.status_code != 409 or refused > 20:
                        raise error_from(reply, f"publishing {self.release}")
                elif unready != announced:
                    announced = unready
                    self._reporter.event(
                        "waiting",
                        message=f"waiting for {len(unready)} more file(s) in the session before "
                        f"publishing: {_some(unready)}",
                        files=unready,
                    )
                if unready and time.monotonic() > deadline:
                    raise ClientError(
                        f"{self.release}: nothing changed in session "
                        f"{short(current['session-token'])} for {self.options.wait:.0f} s while "
                        f"{_some(unready)}"
                        " were not completed (another upload may have stopped). Your files "
                        "are in the session: publish it with `wharf session publish "
                        f"{self.release}` once those are done or deleted"
                    )
            elif time.monotonic() > deadline:
                raise ClientError(
                    f"{self.release}: session {short(current['session-token'])} has been {status} "
                    f"for {self.options.wait:.0f} s; see `wharf session status "
                    f"{self.release}`"
                )
            self.api.stop.sleep(backoff.delay())
