"""Celery jobs of scoring: beat keeps the figures current even when nothing is announced."""

from celery import shared_task

from scoring import services


@shared_task(name="scoring.recompute_all", time_limit=3600, soft_time_limit=3300)
def recompute_all() -> None:
    """Nightly: every score line, period score and monthly figure from scratch, set-based."""
    services.scores_recompute()


@shared_task(name="scoring.recompute_district", time_limit=3600, soft_time_limit=3300)
def recompute_district(district_id: int, since: str | None = None) -> None:
    """After a new policy version: the district's periods from the month it applies."""
    services.scores_recompute_district(district_id=district_id, since=since)


@shared_task(name="scoring.settle_ended_months")
def settle_ended_months() -> None:
    """Assignments still open when their month ended now count as not completed (hourly)."""
    services.scores_settle_ended_months()
