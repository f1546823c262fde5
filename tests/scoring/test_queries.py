"""Bounded work: the same number of statements for a small and a large district."""

import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from orgs.models import Role
from scoring import services
from scoring.models import PeriodScore
from tests.conftest import login
from tests.factories import make_member, make_unit
from tests.scoring.helpers import at, deliver, report
from tests.tasks.helpers import bulk_units

pytestmark = [pytest.mark.django_db]


def _district(code: str, streets: int, communities: int):
    district = make_unit(name=f"区{code}", code=code)
    bulk_units(district, streets, f"{code}S", children_each=communities)
    district.refresh_from_db()
    officer = make_member(district, Role.OFFICER)
    street = district.get_children().first()
    community = street.get_children().first()
    with at("2026-03-01 08:00"):
        from tests.scoring.helpers import local
        from tests.tasks.helpers import published_task

        task = published_task(
            officer, district, [{"unit": district.pk, "level": "community"}], due_at=local("2026-03-20 18:00")
        )
        deliver()
    report(task, community, when="2026-03-10 09:00")
    return district, officer, task, community


def _approval_statements(code: str, streets: int, communities: int) -> int:
    district, officer, task, community = _district(code, streets, communities)
    from tests.tasks import helpers as task_helpers

    with at("2026-03-11 09:00"):
        task_helpers.review(task_helpers.assignment_of(task, community), officer, rating=5)
        with CaptureQueriesContext(connection) as queries:
            deliver()
    return len(queries)


def test_an_approval_is_scored_with_the_same_statements_in_a_small_and_a_large_district(db):
    small = _approval_statements("900001", 2, 2)
    large = _approval_statements("900002", 30, 20)
    assert small == large
    # deliver() runs every consumer of the approval: the score and the notice to the community.
    assert large <= 45


def _read_statements(api, user, district) -> dict[str, int]:
    login(api, user)
    counts = {}
    calls = {
        "leaderboard": lambda: api.get(
            "/api/v1/scores/leaderboard/", {"level": "community", "period": "2026-03"}
        ),
        "unit score": lambda: api.get(f"/api/v1/scores/units/{district.pk}/", {"period": "2026-03"}),
        "stats": lambda: api.get("/api/v1/stats/", {"period": "2026-03"}),
        "stats of days": lambda: api.get("/api/v1/stats/", {"from": "2026-03-05", "to": "2026-03-25"}),
    }
    with at("2026-04-02 09:00"):
        for name, call in calls.items():
            with CaptureQueriesContext(connection) as queries:
                assert call().status_code == 200
            counts[name] = len(queries)
    return counts


def test_rankings_scores_and_statistics_read_a_fixed_number_of_statements(api, db):
    small, officer_small, *_ = _district("900003", 2, 2)
    large, officer_large, *_ = _district("900004", 30, 20)
    assert _read_statements(api, officer_small, small) == _read_statements(api, officer_large, large)


def _score_indexes() -> list[tuple[str, str]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s ORDER BY indexname",
            [PeriodScore._meta.db_table],
        )
        return cursor.fetchall()


def _scores() -> list[tuple]:
    return sorted(PeriodScore.objects.values_list("unit_id", "kind", "start", "score"))


def _scored_then_emptied(code: str, rating: int) -> tuple[list, list]:
    """A small district with one approved report, scored; then its period scores deleted. Returns
    the indexes and the scores as they were."""
    district, officer, task, community = _district(code, 2, 3)
    from tests.tasks import helpers as task_helpers

    with at("2026-03-11 09:00"):
        task_helpers.review(task_helpers.assignment_of(task, community), officer, rating=rating)
        deliver()
    made, scored = _score_indexes(), _scores()
    PeriodScore.objects.all().delete()
    return made, scored


def test_a_recompute_into_empty_tables_builds_the_ranking_indexes_again(api, db):
    # A run of everything into an empty table writes the scores without their ranking indexes and
    # builds them after: the rankings must find them there, as the migrations made them.
    made, scored = _scored_then_emptied("900005", rating=5)
    assert {"periodscore_district_rank", "periodscore_parent_rank"} <= {name for name, _ in made}
    with at("2026-04-02 09:00"):
        services.scores_recompute()
    assert _score_indexes() == made
    assert _scores() == scored


def test_a_role_that_does_not_own_the_tables_fills_them_the_ordinary_way(api, db):
    # A deployment may read and write with a role that did not run the migrations: it may not drop
    # indexes, so the run into empty tables keeps them and inserts row by row instead of failing.
    made, scored = _scored_then_emptied("900006", rating=4)
    role = f"chuanxi_runtime_{uuid.uuid4().hex[:12]}"
    with connection.cursor() as cursor:
        # Rolled back with the test's transaction, like everything else it writes.
        cursor.execute(f"CREATE ROLE {role} NOLOGIN")
        cursor.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}")
        cursor.execute(f"SET ROLE {role}")
        try:
            with at("2026-04-02 09:00"):
                services.scores_recompute()
        finally:
            cursor.execute("RESET ROLE")
    assert _score_indexes() == made
    assert _scores() == scored
