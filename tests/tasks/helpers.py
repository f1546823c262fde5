"""Arrange tasks through the real services, as users would."""

from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone

from orgs.models import OrgUnit
from orgs.tree import rebuild_trees
from tasks import services
from tasks.models import Assignment, PracticeTask, TaskCategory

# The defaults ask for a photo; workflow tests that are not about evidence send none.
NO_PHOTOS = {"min_photos": 0}


def category(code: str = "volunteer_service") -> TaskCategory:
    # get_or_create: transactional tests flush the rows the data migration seeded.
    names = {"volunteer_service": "志愿服务", "theory_lecture": "理论宣讲"}
    return TaskCategory.objects.get_or_create(code=code, defaults={"name": names.get(code, code)})[0]


def make_task(actor, issuer: OrgUnit, targets: list[dict] | None = None, **fields: Any) -> PracticeTask:
    fields.setdefault("title", "文明实践志愿服务月")
    fields.setdefault("category", category())
    fields.setdefault("due_at", timezone.now() + timedelta(days=7))
    fields.setdefault("evidence_requirements", NO_PHOTOS)
    return services.task_create(actor=actor, issuer_unit=issuer, targets=targets or [], **fields)


def published_task(actor, issuer: OrgUnit, targets: list[dict], **fields: Any) -> PracticeTask:
    task = make_task(actor, issuer, targets, **fields)
    services.task_publish(actor=actor, task=task)
    task.refresh_from_db()
    return task


def assignment_of(task: PracticeTask, unit: OrgUnit) -> Assignment:
    return Assignment.objects.select_related("unit__parent", "task", "current_submission").get(
        task=task, unit=unit
    )


def report(**overrides: Any) -> dict[str, Any]:
    """A completion report that meets the default requirements (apart from photos: see tests/evidence)."""
    body = {
        "summary": "组织志愿者清理楼道杂物，入户宣传垃圾分类。",
        "held_at": (timezone.now() - timedelta(hours=3)).isoformat(),
        "participants": 120,
        "volunteers": 15,
        "volunteer_hours": "45.5",
        "location_text": "建西社区党群服务中心",
    }
    body.update(overrides)
    return body


def submit(assignment: Assignment, actor, **overrides: Any):
    values = report(**overrides)
    values["held_at"] = timezone.now() - timedelta(hours=3)
    values["volunteer_hours"] = Decimal(values["volunteer_hours"])
    assignment = Assignment.objects.select_related("unit__parent", "task", "current_submission").get(
        pk=assignment.pk
    )
    return services.assignment_submit(actor=actor, assignment=assignment, **values)


def review(
    assignment: Assignment, actor, decision: str = "approve", comment: str = "", rating: int | None = None
):
    assignment = Assignment.objects.select_related("unit__parent", "task", "current_submission").get(
        pk=assignment.pk
    )
    return services.assignment_review(
        actor=actor, assignment=assignment, decision=decision, comment=comment, rating=rating
    )


def delegate_to_communities(assignment: Assignment, actor):
    """下派: the holder passes its assignment on to every community below its unit, due when it is."""
    return services.assignment_delegate(
        actor=actor,
        assignment=assignment,
        targets=[{"unit": assignment.unit_id, "level": "community"}],
        due_at=assignment.due_at,
    )


def bulk_units(parent: OrgUnit, count: int, prefix: str, *, children_each: int = 0) -> list[int]:
    """`count` units under `parent` (each with `children_each` units below), fast: bulk insert + one renumbering.

    Returns the ids of the `count` direct children.
    """
    level = parent.level + 1
    made = OrgUnit.objects.bulk_create(
        [
            OrgUnit(
                name=f"{prefix}{i}",
                code=f"{prefix}{i:06d}",
                parent=parent,
                tree_id=parent.tree_id,
                lft=0,
                rght=0,
                level=level,
            )
            for i in range(count)
        ],
        batch_size=2000,
    )
    if children_each:
        OrgUnit.objects.bulk_create(
            [
                OrgUnit(
                    name=f"{prefix}{i}-{j}",
                    code=f"{prefix}{i:06d}{j:04d}",
                    parent_id=unit.pk,
                    tree_id=parent.tree_id,
                    lft=0,
                    rght=0,
                    level=level + 1,
                )
                for i, unit in enumerate(made)
                for j in range(children_each)
            ],
            batch_size=2000,
        )
    rebuild_trees([parent.tree_id])
    parent.refresh_from_db()
    return [unit.pk for unit in made]
