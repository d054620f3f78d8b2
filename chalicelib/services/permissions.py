"""Who may set a lifecycle transition off: the caller checked against the table's actor."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..domain.errors import MissingPermissionError, PermissionDeniedError
from ..domain.lifecycle import Actor, Transition

if TYPE_CHECKING:
    from ..domain.sessions import SessionRecord
    from ..domain.tokens import Principal


def require_actor(
    principal: Principal,
    transition: Transition[Any],
    session: SessionRecord,
    *,
    own_cancel_allowed: bool = False,
) -> None:
    """Raise unless ``principal`` may take ``session`` through ``transition``.

    A ``publish`` row needs the publish permission; ``own_cancel_allowed`` (a project
    setting) lets an upload-only token cancel a session it opened itself. The session
    is untouched by a refusal: it stays open for someone who holds the permission.
    """
    project = session.project
    if not principal.can_upload(project):
        raise PermissionDeniedError(f"This token may not upload to {project!r}.")
    if transition.actor is not Actor.PUBLISHER or principal.can_publish(project):
        return
    if own_cancel_allowed and session.created_by == principal.token_id:
        return
    raise MissingPermissionError.publish(f"{transition.name} a publishing session of {project!r}")
