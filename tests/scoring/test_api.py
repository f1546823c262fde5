"""The scoring API as a district, a street and a community use it."""

import csv
import io
from datetime import date
from decimal import Decimal

import openpyxl
import pytest

from orgs import services as org_services
from scoring import jobs
from scoring.models import PeriodEvent
from scoring.summary import quantity, range_label, sentence
from tests.conftest import login
from tests.factories import platform_admin
from tests.scoring.helpers import at, complete, deliver, publish

pytestmark = [pytest.mark.django_db]

APRIL = "2026-04-02 09:00"


def _get(api, url, params=None, when=APRIL, **extra):
    with at(when):
        return api.get(url, params or {}, **extra)


def _post(api, url, body=None, when=APRIL):
    with at(when):
        return api.post(url, body or {}, format="json")


# Rankings ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "field", "words"),
    [
        ({"level": "street", "period": "2026-13"}, "period", "不是有效的考核期"),
        ({"level": "street", "period": "三月"}, "period", "2026-Q4"),
        ({"level": "street"}, "period", "请指定考核期"),
        ({"level": "street", "period": "2026-05"}, "period", "尚未开始"),
        ({"level": "city", "period": "2026-03"}, "level", "不是有效层级"),
        ({"level": "district", "period": "2026-03"}, "level", "不在"),
    ],
)
def test_bad_requests_get_a_clear_400_in_chinese(api, people, params, field, words):
    login(api, people["district_officer"])
    answer = _get(api, "/api/v1/scores/leaderboard/", params)
    assert answer.status_code == 400
    body = answer.json()
    assert words in body["message"] and field in body["errors"]


def test_an_unknown_export_format_is_a_400(api, people):
    login(api, people["district_officer"])
    answer = _get(
        api, "/api/v1/scores/leaderboard/", {"level": "street", "period": "2026-03", "format": "pdf"}
    )
    assert answer.status_code == 400 and "导出格式" in answer.json()["message"]


def test_the_leaderboard_shows_the_change_against_the_previous_month(api, march):
    world, people = march["world"], march["people"]
    officer = people["district_officer"]
    april = publish(
        officer, world["A"], [world["S1"], world["S2"]], when="2026-04-01 09:00", due="2026-04-20 18:00"
    )
    complete(april, world["S2"], officer, submitted="2026-04-10 09:00", approved="2026-04-10 10:00", rating=5)
    complete(april, world["S1"], officer, submitted="2026-04-22 09:00", approved="2026-04-22 10:00", rating=5)
    login(api, officer)
    body = _get(
        api, "/api/v1/scores/leaderboard/", {"level": "street", "period": "2026-04"}, when="2026-05-02 09:00"
    )
    rows = {row["unit_name"]: row for row in body.json()["results"]}
    assert body.json()["previous_period"] == "2026-03"
    # S2: 10 (rank 1, was 2: up one); S1: 10 − 2 days × 1 = 8 (rank 2, was 1)
    assert (
        rows["建设路街道"]["rank"],
        rows["建设路街道"]["rank_change"],
        rows["建设路街道"]["score_change"],
    ) == (1, 1, -12.0)
    assert (
        rows["秦岭路街道"]["rank"],
        rows["秦岭路街道"]["rank_change"],
        rows["秦岭路街道"]["score_change"],
    ) == (2, -1, -21.0)


def test_the_leaderboard_as_a_spreadsheet(api, march):
    login(api, march["people"]["district_officer"])
    answer = _get(
        api, "/api/v1/scores/leaderboard/", {"level": "street", "period": "2026-03", "format": "xlsx"}
    )
    assert answer.status_code == 200
    assert answer["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = openpyxl.load_workbook(io.BytesIO(b"".join(answer.streaming_content))).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:4] == ("名次", "单位", "单位代码", "得分")
    assert [row[:2] for row in rows[1:]] == [(1, "秦岭路街道"), (2, "建设路街道"), (3, "棉纺路街道")]
    assert sheet.freeze_panes == "A2"


# A street's view ------------------------------------------------------------------------------------


def test_a_street_sees_its_communities_and_its_place_among_streets_only_when_the_district_allows(api, march):
    world, people = march["world"], march["people"]
    login(api, people["street_officer"])
    own = _get(api, "/api/v1/scores/leaderboard/", {"level": "community", "period": "2026-03"})
    assert own.status_code == 200
    assert [row["unit_name"] for row in own.json()["results"]] == ["建西社区", "杜康社区"]
    peers = _get(api, "/api/v1/scores/leaderboard/", {"level": "street", "period": "2026-03"})
    assert peers.status_code == 404 and "未开放" in peers.json()["message"]
    login(api, people["district_admin"])
    opened = _post(
        api, "/api/v1/scoring/policies/", {"effective_from": "2026-03", "peer_ranking_visible": True}
    )
    assert opened.status_code == 201, opened.json()
    login(api, people["street_officer"])
    peers = _get(api, "/api/v1/scores/leaderboard/", {"level": "street", "period": "2026-03"})
    assert peers.status_code == 200
    assert [row["unit_name"] for row in peers.json()["results"]] == ["秦岭路街道", "建设路街道", "棉纺路街道"]
    # but not the other streets' details
    assert _get(api, f"/api/v1/scores/units/{world['S2'].pk}/", {"period": "2026-03"}).status_code == 404


# Policies ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"effective_from": "2026-03", "late_floor": 1.5}, "late_floor"),
        ({"effective_from": "2026-03", "rating_factors": {"4": 3}}, "rating_factors"),
        ({"effective_from": "2026-03", "rating_factors": {"6": 1}}, "rating_factors"),
        ({"effective_from": "2026-03", "bonus_per_participant": 0.1}, "bonus_participants_cap"),
        ({"effective_from": "2026-03", "parent_rule": "weighted"}, "own_weight"),
        ({"effective_from": "2026-03", "own_weight": 0.5}, "own_weight"),
        ({"effective_from": "2026-03", "parent_rule": "median"}, "parent_rule"),
        ({"effective_from": "March"}, "effective_from"),
        ({"late_floor": 0.2}, "effective_from"),
        ({"effective_from": "2026-03", "colour": "red"}, "colour"),
    ],
)
def test_an_invalid_policy_is_a_400_naming_the_field(api, people, body, field):
    login(api, people["district_admin"])
    answer = _post(api, "/api/v1/scoring/policies/", body)
    assert answer.status_code == 400, answer.json()
    assert field in answer.json()["errors"]


def test_only_the_districts_administrators_set_its_policy(api, world, people):
    body = {"effective_from": "2026-03", "late_floor": 0.5, "district": world["A"].pk}
    for role, expected in [("district_officer", 403), ("street_admin", 404), ("other_admin", 404)]:
        login(api, people[role])
        assert _post(api, "/api/v1/scoring/policies/", body).status_code == expected, role
    login(api, people["district_admin"])
    created = _post(api, "/api/v1/scoring/policies/", body)
    assert created.status_code == 201
    assert created.json()["version"] == 1 and created.json()["rules"]["late_floor"] == 0.5
    assert created.json()["rules"]["rating_factors"]["4"] == 0.9  # the rest from the version in force
    listed = _get(api, "/api/v1/scoring/policies/").json()
    assert [row["version"] for row in listed["results"]] == [1]
    login(api, people["street_officer"])
    effective = _get(api, "/api/v1/scoring/policies/effective/", {"period": "2026-02"}).json()
    assert effective["default"] is True and effective["rules"]["late_floor"] == 0.3
    effective = _get(api, "/api/v1/scoring/policies/effective/", {"period": "2026-04"}).json()
    assert effective["version"] == 1 and effective["rules"]["late_floor"] == 0.5


# Closing periods -----------------------------------------------------------------------------------


def _street_scores(api):
    body = _get(
        api, "/api/v1/scores/leaderboard/", {"level": "street", "period": "2026-03"}, when="2026-05-02 09:00"
    )
    return [(row["unit_name"], row["score"]) for row in body.json()["results"]]


def test_a_closed_month_keeps_its_scores_until_it_is_reopened(api, march):
    world, people = march["world"], march["people"]
    admin, officer = people["district_admin"], people["district_officer"]
    login(api, admin)
    too_early = _post(api, "/api/v1/scores/periods/2026-04/close/", when="2026-04-20 09:00")
    assert too_early.status_code == 400 and "尚未结束" in too_early.json()["message"]
    assert _post(api, "/api/v1/scores/periods/2026-03/close/", {"note": "三月考核定稿"}).status_code == 200
    assert _post(api, "/api/v1/scores/periods/2026-03/close/").status_code == 409
    before = _street_scores(api)
    # a late report of March, a new policy, a moved community: none of them changes March now
    complete(
        march["t1"], world["C4"], officer, submitted="2026-04-03 09:00", approved="2026-04-03 10:00", rating=5
    )
    _post(api, "/api/v1/scoring/policies/", {"effective_from": "2026-03", "parent_rule": "own_plus_sum"})
    jobs.recompute_district(world["A"].pk, "2026-03-01")
    with at("2026-04-04 09:00"):
        org_services.unit_move(actor=platform_admin(), unit=world["C3"], new_parent=world["S1"])
        deliver()
        jobs.recompute_all()
    assert _street_scores(api) == before
    c4 = _get(api, f"/api/v1/scores/units/{world['C4'].pk}/", {"period": "2026-03"}).json()
    assert c4["lines"][0]["reason"] == "到期未完成 0" and c4["closed"]["note"] == "三月考核定稿"
    assert _post(api, "/api/v1/scores/periods/2026-03/reopen/").status_code == 200
    after = dict(_street_scores(api))
    # own + sum now; C3 under S1; C4 late by 19 days: 30 % floor of 10 = 3
    assert after == {"秦岭路街道": 46.0, "棉纺路街道": 15.0, "建设路街道": 14.0}
    history = _get(api, "/api/v1/scores/periods/").json()
    assert [event["verb"] for event in history["events"]] == ["reopened", "closed"]
    assert PeriodEvent.objects.filter(actor=admin).count() == 2


def test_closing_is_for_the_districts_administrators(api, march):
    people = march["people"]
    for role, expected in [("district_officer", 403), ("street_admin", 404), ("other_admin", 404)]:
        login(api, people[role])
        body = {"district": march["world"]["A"].pk}
        assert _post(api, "/api/v1/scores/periods/2026-03/close/", body).status_code == expected, role


# Work statistics ----------------------------------------------------------------------------------


def test_numbers_are_written_as_officials_write_them():
    assert quantity(15234, "people") == "1.5 万余人次"
    assert quantity(20000, "people") == "2 万人次"
    assert quantity(860, "people") == "860 人次"
    assert quantity(Decimal("2310.0"), "hours") == "2,310 小时"
    assert quantity(Decimal("2310.5"), "hours") == "2,310.5 小时"
    assert range_label(date(2026, 1, 1), date(2026, 7, 31)) == "2026年1月至7月"
    assert range_label(date(2026, 1, 5), date(2026, 3, 20)) == "2026年1月5日至3月20日"
    assert range_label(date(2025, 11, 1), date(2026, 2, 28)) == "2025年11月至2026年2月"
    text = sentence(
        when=range_label(date(2026, 1, 1), date(2026, 7, 31)),
        unit_name="郑州市中原区",
        category_name="文化惠民",
        activities=217,
        participants=15234,
        volunteers=860,
        volunteer_hours=Decimal("2310"),
    )
    assert (
        text
        == "2026年1月至7月，郑州市中原区共开展文化惠民活动 217 场，服务群众 1.5 万余人次，参与志愿者 860 人次、志愿服务 2,310 小时。"
    )


def test_the_months_statistics_with_the_sentence_by_category_and_by_street(api, march):
    world = march["world"]
    login(api, march["people"]["district_officer"])
    body = _get(api, "/api/v1/stats/", {"period": "2026-03"}).json()
    # six approved reports of 120 people, 15 volunteers and 45.5 hours each
    assert body["totals"] == {
        "activities": 6,
        "participants": 720,
        "volunteers": 90,
        "volunteer_hours": 273.0,
    }
    assert (
        body["summary"]
        == "2026年3月，中原区共开展文明实践活动 6 场，服务群众 720 人次，参与志愿者 90 人次、志愿服务 273 小时。"
    )
    by_street = {row["unit_name"]: row["activities"] for row in body["by_child"]}
    assert by_street == {"建设路街道": 2, "棉纺路街道": 1, "秦岭路街道": 3}
    assert {row["name"]: row["activities"] for row in body["by_category"]} == {"志愿服务": 3, "理论宣讲": 3}
    lectures = _get(api, "/api/v1/stats/", {"period": "2026-Q1", "category": "theory_lecture"}).json()
    assert lectures["summary"].startswith("2026年第一季度，中原区共开展理论宣讲活动 3 场")
    # days inside a month come from the reports themselves: C3 (12th), C1 (14th), C2 (16th), S1 (20th)
    days = _get(
        api, "/api/v1/stats/", {"from": "2026-03-10", "to": "2026-03-20", "unit": world["A"].pk}
    ).json()
    assert days["totals"]["activities"] == 4 and days["label"] == "2026年3月10日至3月20日"
    empty = _get(api, "/api/v1/stats/", {"period": "2026-02"}).json()
    assert empty["summary"] == "2026年2月，中原区暂无通过审核的文明实践活动。"


def test_statistics_requests_that_cannot_be_answered(api, people):
    login(api, people["district_officer"])
    cases = [
        ({}, "period"),
        ({"period": "2026-03", "from": "2026-03-01", "to": "2026-03-02"}, "period"),
        ({"from": "2026-03-05", "to": "2026-03-01"}, "to"),
        ({"from": "2026-3-5", "to": "2026-03-09"}, "from"),
        ({"from": "2026-06-01", "to": "2026-06-09"}, "from"),
        ({"period": "2026-03", "category": "dancing"}, "category"),
    ]
    for params, field in cases:
        answer = _get(api, "/api/v1/stats/", params)
        assert answer.status_code == 400 and field in answer.json()["errors"], params


def test_statistics_as_a_spreadsheet(api, march):
    login(api, march["people"]["district_officer"])
    answer = _get(api, "/api/v1/stats/", {"period": "2026-03", "format": "xlsx"})
    book = openpyxl.load_workbook(io.BytesIO(b"".join(answer.streaming_content)))
    assert book.sheetnames == ["按单位", "按类别", "情况综述"]
    rows = list(book["按单位"].iter_rows(values_only=True))
    assert rows[0] == ("单位", "单位代码", "活动场次", "服务群众人次", "志愿者人次", "志愿服务时长（小时）")
    assert rows[-1][0] == "合计" and rows[-1][2] == 6
    assert book["情况综述"]["A2"].value.startswith("2026年3月，中原区共开展")


# The ledger ----------------------------------------------------------------------------------------


def test_the_ledger_opens_in_a_spreadsheet_and_no_cell_runs_a_formula(api, march):
    world, people = march["world"], march["people"]
    org_services.unit_update(
        actor=platform_admin(), unit=world["C1"], data={"name": '=HYPERLINK("http://x")'}
    )
    login(api, people["district_officer"])
    answer = _get(api, f"/api/v1/tasks/{march['t1'].pk}/ledger/", {"format": "xlsx"})
    assert answer.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(b"".join(answer.streaming_content))).active
    header = [cell.value for cell in sheet[1]]
    assert header[:6] == ["单位", "单位代码", "下派单位", "状态", "截止时间", "上报时间"]
    assert "得分" in header and "得分说明" in header
    assert sheet.freeze_panes == "A2"
    assert sheet.column_dimensions["A"].width >= 20  # fits the longest unit name
    names = [row[0].value for row in sheet.iter_rows(min_row=2)]
    injected = next(row[0] for row in sheet.iter_rows(min_row=2) if str(row[0].value).startswith("="))
    assert injected.data_type == "s"  # text, not a formula
    assert len(names) == 4
    scores = {row[1].value: row[header.index("得分")].value for row in sheet.iter_rows(min_row=2)}
    assert scores[world["C2"].code] == 8 and scores[world["C4"].code] == 0

    answer = _get(api, f"/api/v1/tasks/{march['t1'].pk}/ledger/", {"format": "csv"})
    text = b"".join(answer.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff单位,单位代码")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert any(row[0] == '\'=HYPERLINK("http://x")' for row in rows)


def test_a_street_reads_only_its_part_of_the_ledger(api, march):
    login(api, march["people"]["street_officer"])
    body = _get(api, f"/api/v1/tasks/{march['t1'].pk}/ledger/").json()
    assert sorted(row["unit_name"] for row in body["results"]) == ["建西社区", "杜康社区"]
    assert body["results"][0]["score_reason"].startswith("按时完成 +10")
