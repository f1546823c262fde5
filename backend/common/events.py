"""Domain events after commit: an outbox every state change writes to, read by id once committed.

A service announces what changed with `emit(...)` inside its own transaction: the row commits or
rolls back with the change, so nothing is ever announced that did not happen, and nothing that
happened goes unannounced. Once the transaction commits, a `common.dispatch_events` job is enqueued;
it hands every pending event, in id order, to the handlers subscribed to its name, then marks it
dispatched. A beat entry runs the same job every minute, so an event whose job was lost (the broker
was down, the web process died right after the commit) is dispatched all the same.

Consumers (reminders, notifications, scoring) subscribe in their AppConfig.ready():

    events.subscribe("assignment.approved", on_settled)
    events.subscribe("task.*", on_task_change)

and never touch the workflow code. Delivery is at least once: a handler runs again when the job is
retried, so handlers are idempotent (they read the current state, write with uniqueness
constraints). A handler that raises is retried on the next run (its event stays pending, the
others go on); after MAX_ATTEMPTS the event is given up with its error recorded and logged.

Set-based changes announce themselves once, not once per row: `task.published` says how many
assignments it created and the stamp they carry (`created_at`), so a consumer selects them with
one query (`Assignment.objects.filter(task_id=..., parent_id=..., created_at=stamp)`).

The names and what `data` holds are listed in EVENTS; docs/architecture.md explains them.
"""

import fnmatch
import logging
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from common.models import DomainEvent

logger = logging.getLogger(__name__)

# name -> what `data` holds (besides the task / assignment / unit / actor ids of the row).
EVENTS: dict[str, str] = {
    "task.created": "title",
    "task.updated": "changes: {field: [before, after]} (a new due_at moves the assignments' due times)",
    "task.published": "created, first (the first publish), stamp (created_at of the new assignments)",
    "task.cancelled": "ended_assignments (open ones ended), reason, stamp (their settled_at)",
    "task.closed": "ended_assignments (open ones ended), reason, stamp (their settled_at)",
    "assignment.accepted": "",
    "assignment.delegated": "created, stamp (created_at of the new child assignments), due_at",
    "assignment.submitted": "submission, missing (how many delegated units were still open)",
    "assignment.approved": "submission, rating, settled_at",
    "assignment.returned": "submission, comment",
    "assignment.urged": "comment",
    "unit.moved": "from_parent, to_parent (unit ids), from_tree, to_tree (the unit moved with its subtree)",
    "units.moved": "trees (tree ids in which an import moved units)",
}

MAX_ATTEMPTS = 5
BATCH = 500

Handler = Callable[[DomainEvent], None]
_handlers: dict[str, list[Handler]] = defaultdict(list)


def subscribe(pattern: str, handler: Handler) -> None:
    """Call `handler(event)` for every event whose name matches `pattern` (`fnmatch`: "task.*")."""
    if handler not in _handlers[pattern]:
        _handlers[pattern].append(handler)


def unsubscribe(pattern: str, handler: Handler) -> None:
    if handler in _handlers.get(pattern, []):
        _handlers[pattern].remove(handler)


def handlers_for(name: str) -> list[Handler]:
    return [
        handler
        for pattern, found in _handlers.items()
        if fnmatch.fnmatchcase(name, pattern)
        for handler in found
    ]


def emit(
    name: str,
    *,
    task_id: int | None = None,
    assignment_id: int | None = None,
    unit_id: int | None = None,
    actor_id: int | None = None,
    data: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> DomainEvent:
    """Write the announcement in the caller's transaction; it is dispatched after the commit."""
    if name not in EVENTS:
        raise ValueError(f"Unknown domain event {name!r}; add it to common.events.EVENTS.")
    event = DomainEvent.objects.create(
        name=name,
        task_id=task_id,
        assignment_id=assignment_id,
        unit_id=unit_id,
        actor_id=actor_id,
        data=data or {},
        created_at=at or timezone.now(),
    )
    # robust: a broker that is down must not turn a committed change into a 500; the beat run
    # dispatches whatever is still pending.
    transaction.on_commit(enqueue_dispatch, robust=True)
    return event


def enqueue_dispatch() -> None:
    from common.jobs import dispatch_events

    dispatch_events.delay()


def _dispatch_one(event: DomainEvent) -> str | None:
    """Run the event's handlers, each in a savepoint; the first error (as text) or None."""
    for handler in handlers_for(event.name):
        try:
            with transaction.atomic():
                handler(event)
        except Exception as exc:  # reported below and retried: one consumer never blocks the others
            logger.exception("Event %s #%s: handler %s failed", event.name, event.pk, handler)
            return f"{getattr(handler, '__qualname__', handler)}: {exc}"
    return None


def dispatch_pending(*, limit: int = BATCH) -> int:
    """Dispatch up to `limit` pending events in id order; returns how many it looked at.

    Rows are claimed with FOR UPDATE SKIP LOCKED, so two jobs running at once never hand the same
    event to the handlers twice at the same time.
    """
    with transaction.atomic():
        pending = list(
            DomainEvent.objects.select_for_update(skip_locked=True)
            .filter(dispatched_at__isnull=True)
            .order_by("id")[:limit]
        )
        for event in pending:
            error = _dispatch_one(event)
            if error is None:
                event.dispatched_at = timezone.now()
                event.error = ""
            else:
                event.attempts += 1
                event.error = error[:2000]
                if event.attempts >= MAX_ATTEMPTS:
                    event.dispatched_at = timezone.now()
                    logger.error(
                        "Event %s #%s given up after %s attempts: %s",
                        event.name,
                        event.pk,
                        event.attempts,
                        error,
                    )
            event.save(update_fields=["dispatched_at", "error", "attempts"])
    return len(pending)
