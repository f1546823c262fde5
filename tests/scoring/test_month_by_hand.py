"""The district's street ranking for a month, against a calculation anyone can redo by hand."""

from decimal import Decimal

import pytest

from scoring.models import ScoreLine
from tests.conftest import login
from tests.scoring.helpers import at

pytestmark = [pytest.mark.django_db]


def test_the_street_ranking_of_a_month_matches_the_hand_calculation(api, march):
    people = march["people"]
    login(api, people["district_officer"])
    with at("2026-04-02 09:00"):
        answer = api.get("/api/v1/scores/leaderboard/", {"level": "street", "period": "2026-03"})
    assert answer.status_code == 200, answer.json()
    body = answer.json()
    assert body["unit_name"] == "中原区"
    assert body["period_display"] == "2026年3月"
    ranking = [(row["rank"], row["unit_name"], row["score"]) for row in body["results"]]
    assert ranking == [(1, "秦岭路街道", 29.0), (2, "建设路街道", 22.0), (3, "棉纺路街道", 12.0)]
    s1 = body["results"][0]
    assert (s1["own_points"], s1["children_points"]) == (20.0, 9.0)
    assert (s1["assignments"], s1["approved"], s1["on_time"]) == (3, 3, 2)
    assert s1["completion_rate"] == 1.0 and s1["on_time_rate"] == 0.6667
    s3 = body["results"][2]
    assert (s3["assignments"], s3["approved"], s3["completion_rate"]) == (2, 1, 0.5)


def test_the_lines_explain_each_score_in_chinese(api, march):
    world, people = march["world"], march["people"]
    login(api, people["district_officer"])
    with at("2026-04-02 09:00"):
        c2 = api.get(f"/api/v1/scores/units/{world['C2'].pk}/", {"period": "2026-03"}).json()
        s2 = api.get(f"/api/v1/scores/units/{world['S2'].pk}/", {"period": "2026-03"}).json()
        c4 = api.get(f"/api/v1/scores/units/{world['C4'].pk}/", {"period": "2026-03"}).json()
        district = api.get(f"/api/v1/scores/units/{world['A'].pk}/", {"period": "2026-03"}).json()
    assert [(line["state_display"], line["points"], line["reason"]) for line in c2["lines"]] == [
        ("逾期完成", 8.0, "完成任务 +10，评分 4 星 ×0.9，逾期 1 天 −1")
    ]
    assert [line["reason"] for line in s2["lines"]] == ["完成任务 +20，逾期 3 天 −6"]
    assert s2["reason"] == "本级 14 + 下级 1 个单位平均 8 = 22"
    assert [(line["state"], line["reason"]) for line in c4["lines"]] == [("missed", "到期未完成 0")]
    assert district["score"] == 21.0
    assert district["reason"] == "本级 0 + 下级 3 个单位平均 21 = 21"
    assert [child["unit_name"] for child in district["children"]] == [
        "秦岭路街道",
        "建设路街道",
        "棉纺路街道",
    ]


def test_a_community_tie_shares_a_place_and_the_on_time_one_is_listed_first(api, march):
    people = march["people"]
    login(api, people["district_officer"])
    with at("2026-04-02 09:00"):
        body = api.get("/api/v1/scores/leaderboard/", {"level": "community", "period": "2026-03"}).json()
    assert [(row["rank"], row["unit_name"], row["score"]) for row in body["results"]] == [
        (1, "建西社区", 10.0),
        (2, "电新街社区", 8.0),  # on time: listed before the late 杜康社区 though its code is larger
        (2, "杜康社区", 8.0),
        (4, "西站社区", 0.0),
    ]
    assert ScoreLine.objects.get(assignment__unit=march["world"]["C1"]).points == Decimal("10.00")
