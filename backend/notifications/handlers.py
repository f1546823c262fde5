"""Workflow moments people hear about at once, from the domain events after commit (common.events).

A new assignment (published or delegated to a unit), a returned report (with the comment), an
approved one, an urge (naming who urged). The occasion of each notification is the event's id: a
redelivered event adds nothing; two urges are two notifications. Each handler is one statement
(notifications.notices), whatever the number of units a publish reached.
"""

from datetime import datetime

from common.models import DomainEvent
from notifications.models import Kind
from notifications.notices import notify
from orgs.models import Membership, OrgUnit, User
from orgs.scope import Action, roles_for
from tasks.models import Assignment, PracticeTask

A, T, U = Assignment._meta.db_table, PracticeTask._meta.db_table, OrgUnit._meta.db_table
M, P = Membership._meta.db_table, User._meta.db_table

# The person who acted, with the unit they acted from: their lowest membership above the unit.
_ACTOR_NAME = f"""
COALESCE(
    (SELECT mu.name || ' ' FROM {M} m JOIN {U} mu ON mu.id = m.unit_id
      WHERE m.user_id = %(actor)s AND mu.tree_id = u.tree_id AND mu.lft < u.lft AND mu.rght > u.rght
      ORDER BY mu.level DESC LIMIT 1), ''
) || COALESCE((SELECT COALESCE(NULLIF(p.real_name, ''), p.username) FROM {P} p WHERE p.id = %(actor)s), '')
"""  # noqa: S608

_NOTICES = f"""
SELECT %(kind)s AS kind, 'assignment:' || a.id AS subject, %(occasion)s AS occasion, a.task_id,
       a.id AS assignment_id, a.unit_id, a.unit_id AS audience_id, %(roles)s::text[] AS roles,
       jsonb_build_object(
           'task_title', t.title, 'unit_name', u.name, 'issuer_name', iu.name, 'due_at', a.due_at,
           'comment', %(comment)s::text, 'actor_name', {_ACTOR_NAME}
       ) AS data,
       NULL::bigint AS only_user
FROM {A} a
JOIN {T} t ON t.id = a.task_id
JOIN {U} u ON u.id = a.unit_id
JOIN {U} iu ON iu.id = COALESCE((SELECT pa.unit_id FROM {A} pa WHERE pa.id = a.parent_id), t.issuer_unit_id)
WHERE {{where}}
"""  # noqa: S608


def _notify_units(event: DomainEvent, kind: str, where: str, **params) -> None:
    notify(
        _NOTICES.replace("{where}", where),
        {
            "kind": str(kind),
            "occasion": f"event:{event.pk}",
            "roles": roles_for(Action.WORK),
            "comment": (event.data or {}).get("comment", ""),
            "actor": event.actor_id,
            **params,
        },
    )


def on_task_published(event: DomainEvent) -> None:
    stamp = event.data.get("stamp")
    if not event.data.get("created") or not stamp:
        return
    _notify_units(
        event,
        Kind.ASSIGNED,
        "a.task_id = %(task)s AND a.parent_id IS NULL AND a.created_at = %(stamp)s",
        task=event.task_id,
        stamp=datetime.fromisoformat(stamp),
    )


def on_assignment_delegated(event: DomainEvent) -> None:
    stamp = event.data.get("stamp")
    if not event.data.get("created") or not stamp:
        return
    _notify_units(
        event,
        Kind.ASSIGNED,
        "a.parent_id = %(parent)s AND a.created_at = %(stamp)s",
        parent=event.assignment_id,
        stamp=datetime.fromisoformat(stamp),
    )


def _on_assignment(kind: str):
    def handler(event: DomainEvent) -> None:
        _notify_units(event, kind, "a.id = %(assignment)s", assignment=event.assignment_id)

    handler.__name__ = handler.__qualname__ = f"on_assignment_{kind}"
    return handler


HANDLERS = {
    "task.published": on_task_published,
    "assignment.delegated": on_assignment_delegated,
    "assignment.returned": _on_assignment(Kind.RETURNED),
    "assignment.approved": _on_assignment(Kind.APPROVED),
    "assignment.urged": _on_assignment(Kind.URGED),
}
