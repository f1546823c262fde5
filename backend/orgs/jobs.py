"""Periodic jobs of the organisation app (scheduled by beat through CELERY_BEAT_SCHEDULE)."""

import logging

from celery import shared_task
from django.core.cache import cache
from django.utils import timezone

from orgs.tree import tree_problems

logger = logging.getLogger(__name__)

# {"at": ISO time, "problems": n} of the latest check, for operators and for the worker test.
CHECK_TREE_CACHE_KEY = "orgs:check_tree:last"


class TreeDamaged(Exception):
    """The nested-set numbers no longer match the parent links; see docs/operations.md (check_tree)."""


@shared_task(name="orgs.check_tree")
def check_tree() -> int:
    """Verify every tree's lft/rght/level/tree_id; returns the number of problems (0 = healthy).

    A damaged tree makes subtree filters, and with them the access rule, silently wrong, so the job
    fails loudly: an error in the log and a failed job, never a quiet success.
    """
    problems = tree_problems()
    cache.set(
        CHECK_TREE_CACHE_KEY, {"at": timezone.now().isoformat(), "problems": len(problems)}, timeout=None
    )
    if problems:
        logger.error(
            "The organisation tree is damaged: %d problem(s). First ones: %s",
            len(problems),
            "; ".join(problems[:20]),
        )
        raise TreeDamaged(f"{len(problems)} problem(s) in the organisation tree, first: {problems[0]}")
    logger.info("The organisation tree is healthy.")
    return 0
