"""Arrange what the pages show through the real services, as the people would."""

from datetime import timedelta
from decimal import Decimal
from itertools import count

import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from evidence import services as evidence_services
from tasks import services
from tasks.models import Assignment, PracticeTask
from tests.tasks.helpers import assignment_of, category, make_task
from web.demo_photos import activity_photo

PHOTOS = {"min_photos": 1, "max_photos": 3}
_seeds = count(1)


def seed_categories() -> None:
    """The categories the data migration seeds; a transactional test before this one flushed them."""
    import importlib

    from tasks.models import TaskCategory

    seeded = importlib.import_module("tasks.migrations.0002_seed_categories").CATEGORIES
    for code, name, name_en, sort_order in seeded:
        TaskCategory.objects.get_or_create(
            code=code, defaults={"name": name, "name_en": name_en, "sort_order": sort_order}
        )


def fresh(assignment: Assignment) -> Assignment:
    return Assignment.objects.select_related("unit__parent", "task", "current_submission").get(
        pk=assignment.pk
    )


def task_for(actor, issuer, targets, *, title: str, code: str = "theory_lecture", days: float = 5, **fields):
    """A task published a day ago (reports made now are then well inside its window), due in `days`."""
    due_at = timezone.now() + timedelta(days=days)
    with time_machine.travel(timezone.now() - timedelta(days=1), tick=False):
        task = make_task(
            actor,
            issuer,
            targets,
            title=title,
            category=category(code),
            due_at=due_at,
            evidence_requirements=fields.pop("evidence_requirements", PHOTOS),
            **fields,
        )
        services.task_publish(actor=actor, task=task)
    task.refresh_from_db()
    return task


def report(
    assignment: Assignment,
    actor,
    *,
    photos: int = 1,
    process: bool = True,
    summary: str = "组织居民开展宣讲。",
):
    """A completion report with `photos` phone photos (EXIF, GPS), processed at once unless told."""
    now = timezone.now()
    uploads = [
        SimpleUploadedFile(
            f"IMG_{index}.jpg",
            activity_photo(seed=next(_seeds), banner="理论宣讲", taken_at=now - timedelta(hours=2)),
            "image/jpeg",
        )
        for index in range(photos)
    ]
    inspected, errors = evidence_services.photos_inspect(uploads=uploads)
    assert not errors
    submission = services.assignment_submit(
        actor=actor,
        assignment=fresh(assignment),
        summary=summary,
        held_at=now - timedelta(hours=2),
        participants=36,
        location_text="党群服务中心",
        volunteer_hours=Decimal("4"),
        volunteers=2,
        photos=inspected,
    )
    if process:
        for photo in submission.photos.all():
            evidence_services.photo_process(photo_id=photo.pk)
    return submission


def review(assignment: Assignment, actor, decision: str = "approve", **fields):
    return services.assignment_review(actor=actor, assignment=fresh(assignment), decision=decision, **fields)


def overdue_task(actor, issuer, targets, *, title: str) -> PracticeTask:
    """A task published two weeks ago and due yesterday (the services refuse a past due time, so it
    is published while the due time was still ahead)."""
    with time_machine.travel(timezone.now() - timedelta(days=13), tick=False):
        return task_for(actor, issuer, targets, title=title, code="civilization_campaign", days=12)


__all__ = ["assignment_of", "fresh", "overdue_task", "report", "review", "seed_categories", "task_for"]
