"""Reads of evidence: a photo behind the access rule, duplicate lookups, what a reader may see of a flag."""

from collections.abc import Iterable
from typing import Any

from django.db import connection
from django.db.models import Q
from django.utils.translation import gettext as _

from common.exceptions import NotFound
from evidence.derivatives import NEAR_DUPLICATE_THRESHOLD, hash_bands
from evidence.flags import earlier_unit_id
from evidence.models import BAND_FIELDS, Photo
from orgs.models import User
from orgs.scope import Action, unit_condition, units_for

# How many earlier photos a lookup returns at most: enough to name the earliest and count a few.
MATCH_LIMIT = 20


def photo_get(*, user: User, photo_id: Any) -> Photo:
    """A photo of an assignment the user may see; 404 otherwise (existence never leaks)."""
    try:
        pk = int(photo_id)
    except (TypeError, ValueError):
        pk = None
    photo = (
        Photo.objects.filter(pk=pk)
        .filter(unit_condition(user, Action.VIEW, prefix="submission__assignment__unit"))
        .first()
        if pk is not None
        else None
    )
    if photo is None:
        raise NotFound(_("Photo not found, or you do not have access to it."))
    return photo


def _related() -> tuple[str, ...]:
    return ("submission__assignment__unit", "submission__assignment__task")


def _same_work(photo: Photo) -> Q:
    """Photos of the photo's own assignment and of those it was delegated from or to.

    They are not duplicates of each other. Earlier reports of the same assignment: a returned report
    is sent again with the same photos, and the reviewer sees those reports in the history anyway.
    The delegation chain: a street reports upward with the photos its communities took for this very
    task, and the district sees those reports below the street's. Delegation goes street → community
    at most (a district holds no assignment), so parent and children are the whole chain.
    """
    assignment = photo.submission.assignment
    same = Q(submission__assignment_id=assignment.pk) | Q(submission__assignment__parent_id=assignment.pk)
    if assignment.parent_id is not None:
        same |= Q(submission__assignment_id=assignment.parent_id)
    return same


def exact_duplicates(*, photo: Photo) -> list[Photo]:
    """Other photos of the same district with the same bytes, oldest first, outside this assignment
    and its delegation chain (see `_same_work`)."""
    return list(
        Photo.objects.filter(tree_id=photo.tree_id, sha256=photo.sha256)
        .exclude(pk=photo.pk)
        .exclude(_same_work(photo))
        .select_related(*_related())
        .order_by("id")[:MATCH_LIMIT]
    )


def near_duplicate_candidates(*, tree_id: int, phash: int, exclude_id: int | None = None) -> dict[int, int]:
    """{photo id: Hamming distance} of processed photos of the district within the threshold.

    One statement. PostgreSQL: eight index-only probes, one per 8-bit band, each on its
    (tree_id, bandK) INCLUDE (phash, id) index, confirmed by `bit_count(phash # q)` inside the scan;
    by the pigeonhole rule every hash within 7 bits shares at least one band with the query. No
    photo outside the probed bands is ever read, so the cost follows the band sizes, not the table
    (about 4 ms at 1,000,000 photos, docs/benchmarks.md).
    """
    table = Photo._meta.db_table
    probes = " UNION ALL ".join(
        f"SELECT id, phash FROM {table} WHERE tree_id = %s AND {field} = %s"  # noqa: S608
        for field in BAND_FIELDS
    )
    sql = (
        f"SELECT DISTINCT c.id, bit_count((c.phash # %s)::bit(64)) AS distance FROM ({probes}) AS c "  # noqa: S608
        f"WHERE bit_count((c.phash # %s)::bit(64)) <= %s AND c.id <> %s ORDER BY c.id LIMIT %s"
    )
    params: list[Any] = [phash]
    for band in hash_bands(phash):
        params += [tree_id, band]
    params += [phash, NEAR_DUPLICATE_THRESHOLD, exclude_id or 0, MATCH_LIMIT * 5]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {row[0]: row[1] for row in cursor.fetchall()}


def near_duplicates(*, photo: Photo) -> list[tuple[Photo, int]]:
    """(photo, distance) of other photos of the district that look the same but are not the same
    file, oldest first, outside this assignment and its delegation chain. Two queries whatever the
    table size."""
    if photo.phash is None:
        return []
    distances = near_duplicate_candidates(tree_id=photo.tree_id, phash=photo.phash, exclude_id=photo.pk)
    if not distances:
        return []
    matches = (
        Photo.objects.filter(pk__in=list(distances))
        .exclude(sha256=photo.sha256)
        .exclude(_same_work(photo))
        .select_related(*_related())
        .order_by("id")[:MATCH_LIMIT]
    )
    return [(match, distances[match.pk]) for match in matches]


def earlier_units_visible(*, user: User, submissions: Iterable[Any]) -> set[int]:
    """Of the units named by the duplicate flags of `submissions` (flags prefetched), those the user
    may see. One query, none when no flag names a unit."""
    named: set[int] = set()
    for submission in submissions:
        if submission is None:
            continue
        for flag in submission.flags.all():
            unit_id = earlier_unit_id(flag)
            if unit_id is not None:
                named.add(unit_id)
    if not named:
        return set()
    return set(units_for(user, Action.VIEW).filter(pk__in=named).values_list("pk", flat=True))
