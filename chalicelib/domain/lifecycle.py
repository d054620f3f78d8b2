"""The publishing session and file upload session lifecycles (PEP 694), as two tables.

Every state a session or a file can be in, every transition between them, what
triggers it and who may ask for it are written once, here. The session repository
builds each status write's condition from these tables (``#status IN (sources)``),
the in-memory fake checks the same sets, and the contract tests walk every cell:
each transition the table allows succeeds from each of its sources, and every other
one is refused, on the fake and on DynamoDB alike.

A stored state is what the repository writes; ``visible`` maps it to the PEP 694
status a client sees. Today they coincide, so a new internal state (a review step
inside ``processing``, a publish waiting for approval) is an addition: a member, its
visible status, and the transitions into and out of it (docs/developing.md says how).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Generic, TypeVar


class SessionStatus(StrEnum):
    """A publishing session's stored state; the values are PEP 694's status names."""

    OPEN = "open"
    PROCESSING = "processing"
    PUBLISHED = "published"
    ERROR = "error"
    CANCELED = "canceled"

    @property
    def terminal(self) -> bool:
        return self in SESSIONS.terminal

    @property
    def editable(self) -> bool:
        """``open`` and ``error`` permit the identical set of operations (PEP 694)."""
        return SESSIONS.permits(EDIT, self)


class FileStatus(StrEnum):
    """A file upload session's stored state; the values are PEP 694's status names."""

    PENDING = "pending"
    PROCESSING = "processing"
    COMPLETED = "completed"
    ERROR = "error"
    CANCELED = "canceled"
    # Validated, waiting for the operator's reviewers (docs/review.md); clients see processing.
    REVIEWING = "reviewing"


class Actor(StrEnum):
    """Who may set a transition off: a token's permission on the project, or wharf itself.

    The services check ``transition.actor`` against the caller (services/permissions.py),
    so the rows are where a permission guard goes.
    """

    UPLOADER = "upload"  # a token that may upload to the project
    # A token that may also publish: publishing a session, and canceling one (the PEP 694
    # amendment protects cancel too, since it discards a staged release).
    PUBLISHER = "publish"
    SYSTEM = "system"  # an event handler, the publisher or the sweeper


S = TypeVar("S", SessionStatus, FileStatus)


@dataclass(frozen=True)
class Transition(Generic[S]):
    """One row: from any of ``sources`` to ``target``, set off by ``trigger``."""

    name: str
    sources: frozenset[S]
    target: S
    trigger: str
    actor: Actor


@dataclass(frozen=True)
class Guard(Generic[S]):
    """An operation that changes no status but needs one of ``states`` (adding a file
    needs an editable session); the repository checks it in the same write."""

    name: str
    states: frozenset[S]
    trigger: str


class Lifecycle(Generic[S]):
    """A table of transitions and guards over one enum of states."""

    def __init__(
        self,
        name: str,
        states: type[S],
        *,
        initial: S,
        visible: Mapping[S, str],
        transitions: Iterable[Transition[S]],
        guards: Iterable[Guard[S]] = (),
    ) -> None:
        self.name = name
        self.states: tuple[S, ...] = tuple(states)
        self.initial: S = initial
        self.visible: dict[S, str] = dict(visible)
        self.transitions: dict[str, Transition[S]] = {t.name: t for t in transitions}
        self.guards: dict[str, Guard[S]] = {g.name: g for g in guards}
        missing = set(self.states) - set(self.visible)
        assert not missing, f"{name}: no visible status for {missing}"
        assert not set(self.transitions) & set(self.guards), "names are shared"
        outgoing = {s for t in self.transitions.values() for s in t.sources}
        self.terminal: frozenset[S] = frozenset(s for s in self.states if s not in outgoing)

    def __getitem__(self, name: str) -> Transition[S]:
        return self.transitions[name]

    def sources(self, name: str) -> frozenset[S]:
        """The states a transition or guard ``name`` is allowed from."""
        if name in self.guards:
            return self.guards[name].states
        return self.transitions[name].sources

    def permits(self, name: str, state: S) -> bool:
        return state in self.sources(name)

    def shown(self, state: S) -> str:
        """The PEP 694 status a client sees for a stored state."""
        return self.visible[state]

    def rows(self) -> list[tuple[str, str, str, str, str]]:
        """(name, from, to, trigger, actor) for every transition, for docs and tests."""
        return [
            (
                t.name,
                ", ".join(sorted(t.sources)) or "(none)",
                str(t.target),
                t.trigger,
                str(t.actor),
            )
            for t in self.transitions.values()
        ]


# --- transition and guard names the services and the repository use ----------------------

OPEN = "open"
PUBLISH = "publish"
COMMIT = "commit"
FAIL_PUBLISH = "fail-publish"
CANCEL = "cancel"
EXPIRE = "expire"
EDIT = "edit"
EXTEND = "extend"

CREATE_FILE = "create"
COMPLETE = "complete"
REFUSE_TRANSFER = "refuse-transfer"
ACCEPT = "accept"
REJECT = "reject"
STAGE_VALIDATED = "stage-validated"
HOLD_FOR_REVIEW = "hold-for-review"
APPROVE = "approve"
REJECT_REVIEW = "reject-review"
DELETE_FILE = "delete"
RECORD_PROGRESS = "record-progress"

_S = SessionStatus
_F = FileStatus

SESSIONS: Lifecycle[SessionStatus] = Lifecycle(
    "publishing session",
    SessionStatus,
    initial=_S.OPEN,
    # ``published`` reads ``processing`` until the index shows the release (see
    # SessionRecord.visible_status): published means installable.
    visible={s: str(s) for s in SessionStatus},
    transitions=[
        Transition(
            OPEN,
            frozenset(),
            _S.OPEN,
            "POST /upload/ (or a legacy upload with staged=true): the release is locked to "
            "this session, a first release reserves the project name",
            Actor.UPLOADER,
        ),
        Transition(
            PUBLISH,
            frozenset({_S.OPEN, _S.ERROR}),
            _S.PROCESSING,
            "POST <session>/publish with every file completed: every filename is reserved "
            "in the same write, and the session's revision must be the one read",
            Actor.PUBLISHER,
        ),
        Transition(
            COMMIT,
            frozenset({_S.PROCESSING}),
            _S.PUBLISHED,
            "the publisher (the publish request's S3 event) commits the release under a new serial",
            Actor.SYSTEM,
        ),
        Transition(
            FAIL_PUBLISH,
            frozenset({_S.PROCESSING}),
            _S.ERROR,
            "the publisher gives up on its last delivery or finds a reservation lost, or a "
            "large release's later batch of reservations is refused; notices say why",
            Actor.SYSTEM,
        ),
        Transition(
            CANCEL,
            frozenset({_S.OPEN, _S.ERROR}),
            _S.CANCELED,
            "DELETE <session> (an upload-only token may cancel the sessions it opened where "
            "the project allows it)",
            Actor.PUBLISHER,
        ),
        Transition(
            EXPIRE,
            frozenset({_S.OPEN, _S.ERROR}),
            _S.CANCELED,
            "the sweeper, once expires-at has passed (the session already reads canceled)",
            Actor.SYSTEM,
        ),
    ],
    guards=[
        Guard(
            EDIT,
            frozenset({_S.OPEN, _S.ERROR}),
            "adding, completing or deleting a file; each bumps the session's revision",
        ),
        Guard(
            EXTEND,
            frozenset({_S.OPEN, _S.PROCESSING, _S.ERROR}),
            "POST <session>/extend: expires-at moves later, never earlier",
        ),
    ],
)

FILES: Lifecycle[FileStatus] = Lifecycle(
    "file upload session",
    FileStatus,
    initial=_F.PENDING,
    # Every file of a canceled (or expired) session reads canceled (FileRecord.effective_status).
    # A file under review is still being processed, as far as PEP 694 is concerned.
    visible={**{s: str(s) for s in FileStatus}, _F.REVIEWING: str(_F.PROCESSING)},
    transitions=[
        Transition(
            CREATE_FILE,
            frozenset(),
            _F.PENDING,
            "POST <session>/files (session editable, filename free in the session)",
            Actor.UPLOADER,
        ),
        Transition(
            COMPLETE,
            frozenset({_F.PENDING}),
            _F.PROCESSING,
            "POST <file>/complete with the declared bytes held; the object appears and its "
            "S3 event starts the validator",
            Actor.UPLOADER,
        ),
        Transition(
            REFUSE_TRANSFER,
            frozenset({_F.PENDING}),
            _F.ERROR,
            "POST <file>/complete when the parts held are not the declared file",
            Actor.UPLOADER,
        ),
        Transition(
            ACCEPT,
            frozenset({_F.PROCESSING}),
            _F.COMPLETED,
            "the validator accepts the file (warnings become notices)",
            Actor.SYSTEM,
        ),
        Transition(
            REJECT,
            frozenset({_F.PROCESSING}),
            _F.ERROR,
            "the validator rejects the file, or the sweeper cannot finish an interrupted "
            "completion; notices say why",
            Actor.SYSTEM,
        ),
        Transition(
            STAGE_VALIDATED,
            frozenset({_F.PENDING}),
            _F.COMPLETED,
            "a legacy upload with staged=true, validated within its request",
            Actor.UPLOADER,
        ),
        Transition(
            HOLD_FOR_REVIEW,
            frozenset({_F.PROCESSING, _F.PENDING}),
            _F.REVIEWING,
            "the validator (or a legacy upload, within its request) accepts the file while "
            "reviewers are configured; wharf announces it on the review queue",
            Actor.SYSTEM,
        ),
        Transition(
            APPROVE,
            frozenset({_F.REVIEWING}),
            _F.COMPLETED,
            "the last reviewer's approval, or the sweeper once the review timed out under "
            "an approve-on-silence policy",
            Actor.SYSTEM,
        ),
        Transition(
            REJECT_REVIEW,
            frozenset({_F.REVIEWING}),
            _F.ERROR,
            "a reviewer's rejection (its reason becomes the notice), or the sweeper once the "
            "review timed out under a reject-on-silence policy; the bytes are quarantined",
            Actor.SYSTEM,
        ),
        Transition(
            DELETE_FILE,
            frozenset({_F.PENDING, _F.COMPLETED, _F.ERROR}),
            _F.CANCELED,
            "DELETE <file> (session editable); the filename is free in the session again",
            Actor.UPLOADER,
        ),
    ],
    guards=[
        Guard(
            RECORD_PROGRESS,
            frozenset({_F.PENDING}),
            "asking for part URLs records how many parts and bytes S3 holds",
        ),
    ],
)
