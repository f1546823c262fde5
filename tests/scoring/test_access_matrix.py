"""Every scoring endpoint × every role: the expected status, written out by hand from the rule.

March 2026 in district A (the `march` fixture). 404 = not visible, 403 = visible but the role does
not allow it. Peer rankings are closed (the default policy).
"""

import pytest

from tests.conftest import login
from tests.scoring.helpers import at

pytestmark = [pytest.mark.django_db]

ROLES = [
    "district_admin",
    "district_officer",
    "street_admin",
    "street_officer",
    "street_viewer",
    "community_worker",
    "other_admin",
]

MATRIX = {
    "ranking of A's streets": [200, 200, 404, 404, 404, 404, 404],
    "ranking of S1's communities": [200, 200, 200, 200, 200, 404, 404],
    "ranking as xlsx": [200, 200, 404, 404, 404, 404, 404],
    "score of A": [200, 200, 404, 404, 404, 404, 404],
    "score of S1": [200, 200, 200, 200, 200, 404, 404],
    "score of C1": [200, 200, 200, 200, 200, 200, 404],
    "stats of A": [200, 200, 404, 404, 404, 404, 404],
    "stats of S1": [200, 200, 200, 200, 200, 404, 404],
    "stats as xlsx": [200, 200, 200, 200, 200, 404, 404],
    "ledger": [200, 200, 200, 200, 200, 200, 404],
    "ledger as csv": [200, 200, 200, 200, 200, 200, 404],
    "policy list": [200, 200, 200, 200, 200, 200, 200],  # each sees the versions of their own districts
    "policy create": [201, 403, 404, 404, 404, 404, 404],
    "policy in force": [200, 200, 404, 404, 404, 404, 404],
    "periods of A": [200, 200, 404, 404, 404, 404, 404],
    "reopen March": [409, 403, 404, 404, 404, 404, 404],  # nothing to reopen yet: refused, not hidden
    "close March": [200, 403, 404, 404, 404, 404, 404],
}


@pytest.mark.parametrize("role", ROLES)
def test_access(api, march, role):
    """One role against every endpoint, in the order above (the writes last): the month is built once
    per role rather than once per cell."""
    world, people = march["world"], march["people"]
    a, s1, c1 = world["A"].pk, world["S1"].pk, world["C1"].pk
    march_ = {"period": "2026-03"}
    calls = {
        "ranking of A's streets": lambda: api.get(
            "/api/v1/scores/leaderboard/", {"level": "street", "unit": a, **march_}
        ),
        "ranking of S1's communities": lambda: api.get(
            "/api/v1/scores/leaderboard/", {"level": "community", "unit": s1, **march_}
        ),
        "ranking as xlsx": lambda: api.get(
            "/api/v1/scores/leaderboard/", {"level": "street", "unit": a, "format": "xlsx", **march_}
        ),
        "score of A": lambda: api.get(f"/api/v1/scores/units/{a}/", march_),
        "score of S1": lambda: api.get(f"/api/v1/scores/units/{s1}/", march_),
        "score of C1": lambda: api.get(f"/api/v1/scores/units/{c1}/", march_),
        "stats of A": lambda: api.get("/api/v1/stats/", {"unit": a, **march_}),
        "stats of S1": lambda: api.get("/api/v1/stats/", {"unit": s1, **march_}),
        "stats as xlsx": lambda: api.get("/api/v1/stats/", {"unit": s1, "format": "xlsx", **march_}),
        "ledger": lambda: api.get(f"/api/v1/tasks/{march['t1'].pk}/ledger/"),
        "ledger as csv": lambda: api.get(f"/api/v1/tasks/{march['t1'].pk}/ledger/", {"format": "csv"}),
        "policy list": lambda: api.get("/api/v1/scoring/policies/"),
        "policy create": lambda: api.post(
            "/api/v1/scoring/policies/",
            {"district": a, "effective_from": "2026-04", "late_floor": 0.5},
            format="json",
        ),
        "policy in force": lambda: api.get("/api/v1/scoring/policies/effective/", {"unit": a, **march_}),
        "periods of A": lambda: api.get("/api/v1/scores/periods/", {"district": a}),
        "close March": lambda: api.post(
            "/api/v1/scores/periods/2026-03/close/", {"district": a}, format="json"
        ),
        "reopen March": lambda: api.post(
            "/api/v1/scores/periods/2026-03/reopen/", {"district": a}, format="json"
        ),
    }
    login(api, people[role])
    found = {}
    with at("2026-04-02 09:00"):
        for endpoint in MATRIX:
            found[endpoint] = calls[endpoint]().status_code
    expected = {endpoint: statuses[ROLES.index(role)] for endpoint, statuses in MATRIX.items()}
    assert found == expected
