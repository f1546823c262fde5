import pytest

from orgs.models import Role
from tests.factories import make_member, make_unit
from tests.scoring.helpers import at, complete, deliver, publish, report
from tests.tasks.helpers import category


@pytest.fixture
def march(world, people):
    """A month by hand (March 2026) in district A: S1 (C1, C2), S2 (C3) and a third street S3 (C4).

    T1 (理论宣讲, 10 points, due 03-15 18:00) to the four communities; T2 (志愿服务, 20 points,
    due 03-25 18:00) to the three streets:
      C1 on time, 5 stars → 10;  C2 one started day late, 4 stars → 9 − 1 = 8;
      C3 on time, 3 stars → 8;   C4 never reports → 0 once March has ended;
      S1 on time, 5 stars → 20;  S2 three started days late, no rating → 20 − 6 = 14;
      S3 on time, 2 stars → 12.
    Streets: S1 = 20 + (10 + 8) / 2 = 29; S2 = 14 + 8 = 22; S3 = 12 + 0 = 12. District: (29 + 22 + 12) / 3 = 21.
    """
    officer = people["district_officer"]
    s3 = make_unit(world["A"], name="棉纺路街道", code="410102003000")
    c4 = make_unit(s3, name="西站社区", code="410102003001")
    world = {**world, "S3": s3, "C4": c4}
    lecture = category("theory_lecture")
    t1 = publish(
        officer,
        world["A"],
        [world["C1"], world["C2"], world["C3"], c4],
        when="2026-03-01 09:00",
        due="2026-03-15 18:00",
        points=10,
        category=lecture,
        title="理论宣讲进社区",
    )
    t2 = publish(
        officer,
        world["A"],
        [world["S1"], world["S2"], s3],
        when="2026-03-01 09:30",
        due="2026-03-25 18:00",
        points=20,
    )
    complete(t1, world["C1"], officer, submitted="2026-03-14 10:00", approved="2026-03-14 16:00", rating=5)
    complete(t1, world["C2"], officer, submitted="2026-03-16 10:00", approved="2026-03-17 09:00", rating=4)
    complete(t1, world["C3"], officer, submitted="2026-03-12 10:00", approved="2026-03-13 09:00", rating=3)
    complete(t2, world["S1"], officer, submitted="2026-03-20 10:00", approved="2026-03-21 09:00", rating=5)
    complete(t2, world["S2"], officer, submitted="2026-03-28 09:00", approved="2026-03-29 09:00")
    complete(t2, s3, officer, submitted="2026-03-24 10:00", approved="2026-03-24 18:00", rating=2)
    from scoring import jobs

    with at("2026-04-01 00:05"):
        jobs.settle_ended_months()
    return {"world": world, "t1": t1, "t2": t2, "people": people}


__all__ = ["at", "deliver", "make_member", "report", "Role"]
