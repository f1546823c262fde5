"""Scoring hears about changes through the domain events (common.events) and never touches the
workflow code. Each handler recomputes what the change can have moved, set-based and idempotent:
delivery is at least once, and running a handler twice writes nothing the second time."""

from common import events
from common.models import DomainEvent
from scoring import services
from scoring.compute import Scope


def on_assignment_approved(event: DomainEvent) -> None:
    """Approved (also long after its month ended: a late review): its line and its unit's chain."""
    if event.assignment_id is not None:
        services.scores_refresh(scope=Scope.of_assignments([event.assignment_id]))


def on_assignment_delegated(event: DomainEvent) -> None:
    """New assignments below count in their units' periods; the delegating report no longer counts
    as an activity of its own."""
    if event.assignment_id is not None:
        services.scores_refresh(scope=Scope.of_delegation(event.assignment_id))


def on_task_changed(event: DomainEvent) -> None:
    """Published (new assignments), cancelled (ended ones leave the scores), closed (open ones now
    count as not completed): every assignment of the task, one statement per step."""
    if event.task_id is not None:
        services.scores_refresh(scope=Scope.of_task(event.task_id))


def on_task_updated(event: DomainEvent) -> None:
    """A new due time moves the task's assignments to another period."""
    if event.task_id is not None and "due_at" in (event.data.get("changes") or {}):
        services.scores_refresh(scope=Scope.of_task(event.task_id))


def on_unit_moved(event: DomainEvent) -> None:
    """The moved unit's old and new ancestors, for every period it has figures in."""
    if event.unit_id is not None:
        services.scores_refresh_after_move(
            unit_id=event.unit_id, former_parent_id=event.data.get("from_parent")
        )


def on_units_imported(event: DomainEvent) -> None:
    """An import that moved units: the touched districts, every period still open."""
    services.scores_refresh_trees(tree_ids=event.data.get("trees") or [])


def subscribe() -> None:
    events.subscribe("assignment.approved", on_assignment_approved)
    events.subscribe("assignment.delegated", on_assignment_delegated)
    events.subscribe("task.published", on_task_changed)
    events.subscribe("task.cancelled", on_task_changed)
    events.subscribe("task.closed", on_task_changed)
    events.subscribe("task.updated", on_task_updated)
    events.subscribe("unit.moved", on_unit_moved)
    events.subscribe("units.moved", on_units_imported)
