"""排名, a unit's score, 工作统计, 考核期 and the ledger buttons, on March 2026 worked by hand (the
`march` fixture of tests/scoring): streets S1 29, S2 22, S3 12; communities C1 10, C2 8, C3 8, C4 0;
six approved reports of 120 people, 15 volunteers and 45.5 hours each."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from scoring.models import PeriodClosure
from tests.scoring.helpers import at, complete, publish
from tests.tasks.helpers import bulk_units
from tests.web.conftest import browser_client

pytestmark = pytest.mark.django_db

APRIL = "2026-04-10 10:00"
END_OF_MARCH = "2026-03-31 20:00"


def get(user, url: str, data: dict | None = None, when: str = APRIL):
    with at(when):
        return browser_client(user).get(url, data or {})


def text(response) -> str:
    """The page's visible text with the tags and the runs of white space taken out."""
    html = response.content.decode()
    html = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def table_rows(response) -> list[str]:
    return [
        re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row)).strip()
        for row in re.findall(r"<tr[^>]*>(.*?)</tr>", response.content.decode(), flags=re.S)
    ]


# 排名 ---------------------------------------------------------------------------------------------


def test_the_district_ranks_its_streets_for_this_month_by_default(march):
    officer = march["people"]["district_officer"]
    response = get(officer, "/scores/", when=END_OF_MARCH)
    assert response.status_code == 200
    page = text(response)
    assert "2026年3月" in page
    rows = [row for row in table_rows(response) if "街道" in row]
    # rank, unit, score, completion, on time, change (no ranking in February: new)
    assert rows[0].startswith("1 秦岭路街道 29 100% 67%")
    assert rows[1].startswith("2 建设路街道 22 100% 50%")
    assert rows[2].startswith("3 棉纺路街道 12 50% 50%")
    assert "新上榜" in rows[0]
    html = response.content.decode()
    # The bar chart is inline SVG with a title, the longest bar the best score.
    assert re.search(r'<svg[^>]*role="img"', html) and "<title" in html
    assert 'width="100.0%"' in html and 'width="41.4%"' in html  # 12 / 29
    assert "/api/v1/scores/leaderboard/?level=street&amp;period=2026-03&amp;format=xlsx" in html
    # Ten days into April the page opens on April; March is the next choice of the selector.
    april = get(officer, "/scores/")
    assert "2026年4月" in text(april).split("考核期")[0]


def test_ties_share_a_place_and_the_change_is_said_in_words(march):
    """C2 and C3 both scored 8 in March; in the quarter against the one before nothing was ranked."""
    officer = march["people"]["district_officer"]
    world = march["world"]
    response = get(officer, "/scores/", {"level": "community", "period": "2026-03"})
    rows = [row for row in table_rows(response) if "社区" in row]
    assert [row.split(" ")[0] for row in rows] == ["1", "2", "2", "4"]
    assert rows[0].startswith("1 建西社区 10")
    # April against March: C1 with an April task done on time stays first, the others fall back.
    t3 = publish(
        officer, world["A"], [world["C3"]], when="2026-04-01 09:00", due="2026-04-05 18:00", points=30
    )
    complete(t3, world["C3"], officer, submitted="2026-04-02 10:00", approved="2026-04-02 12:00", rating=5)
    response = get(officer, "/scores/", {"level": "community", "period": "2026-04"})
    row = next(row for row in table_rows(response) if "电新街社区" in row)
    assert row.startswith("1 电新街社区 30") and "上升 1 位" in row
    assert "↑" in response.content.decode()


def test_a_street_ranks_its_communities_and_sees_its_peers_only_when_the_district_allows(march):
    street = march["people"]["street_officer"]
    response = get(street, "/scores/", when=END_OF_MARCH)
    rows = [row for row in table_rows(response) if "社区" in row]
    assert [row.split(" ")[1] for row in rows] == ["建西社区", "杜康社区"]
    refused = get(street, "/scores/", {"level": "street", "period": "2026-03"})
    assert refused.status_code == 404
    assert "区里未开放同级排名" in text(refused) or "未开放" in text(refused)
    assert "排名" in text(refused)  # still the page, with its choices


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ({"period": "2026-13"}, "不是有效的考核期"),
        ({"period": "2027-01"}, "尚未开始"),
        ({"level": "city"}, "不是有效层级"),
        ({"level": "district"}, "不在“区（新时代文明实践中心）”层级之上"),
    ],
)
def test_a_bad_period_or_level_is_said_in_chinese_not_a_server_error(march, query, words):
    response = get(march["people"]["district_officer"], "/scores/", query)
    assert response.status_code == 400
    assert words in text(response), text(response)


# A unit's score -----------------------------------------------------------------------------------


def test_a_units_score_shows_its_lines_with_reasons_and_its_communities(march):
    officer = march["people"]["district_officer"]
    world = march["world"]
    response = get(officer, f"/scores/units/{world['S1'].pk}/", {"period": "2026-03"})
    assert response.status_code == 200
    page = text(response)
    assert "29" in page and "100%" in page and "67%" in page
    assert "本级 20 + 下级 2 个单位平均 9 = 29" in page
    assert "按时完成 +20，评分 5 星 ×1" in page
    html = response.content.decode()
    assert f"/assignments/{march['t2'].assignments.get(unit=world['S1']).pk}/" in html
    children = [row for row in table_rows(response) if "社区" in row]
    assert children[0].startswith("建西社区 10") and children[1].startswith("杜康社区 8")
    late = get(officer, f"/scores/units/{world['C2'].pk}/", {"period": "2026-03"})
    assert "完成任务 +10，评分 4 星 ×0.9，逾期 1 天 −1" in text(late)


def test_a_units_score_with_a_bad_period_says_so(march):
    response = get(
        march["people"]["district_officer"], f"/scores/units/{march['world']['S1'].pk}/", {"period": "march"}
    )
    assert response.status_code == 400 and "不是有效的考核期" in text(response)


# 工作统计 -----------------------------------------------------------------------------------------


def test_work_statistics_give_the_sentence_the_categories_and_the_streets(march):
    officer = march["people"]["district_officer"]
    response = get(officer, "/stats/", {"period": "2026-03"})
    assert response.status_code == 200
    page = text(response)
    assert (
        "2026年3月，中原区共开展文明实践活动 6 场，服务群众 720 人次，参与志愿者 90 人次、志愿服务 273 小时。"
        in page
    )
    rows = table_rows(response)
    assert any(row.startswith("理论宣讲 3 360 45 136.5") for row in rows), rows
    assert any(row.startswith("秦岭路街道 3 360 45 136.5") for row in rows), rows
    assert any(row.startswith("合计 6 720 90 273") for row in rows), rows
    html = response.content.decode()
    assert 'data-copy="summary-text"' in html and "web/copy.js" in html
    assert "/api/v1/stats/?unit=" in html and "format=xlsx" in html


def test_work_statistics_between_dates_and_for_one_category(march):
    officer = march["people"]["district_officer"]
    response = get(
        officer, "/stats/", {"from": "2026-03-01", "to": "2026-03-15", "category": "theory_lecture"}
    )
    assert response.status_code == 200
    page = text(response)
    assert "共开展理论宣讲活动" in page


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ({"period": "2026-Q9"}, "不是有效的考核期"),
        ({"from": "2026-03-20", "to": "2026-03-01"}, "早于"),
        ({"from": "2026-03-01", "to": "tomorrow"}, "不是有效日期"),
        ({"period": "2026-03", "category": "dancing"}, "不是任务类别"),
    ],
)
def test_work_statistics_refuse_bad_values_in_chinese(march, query, words):
    response = get(march["people"]["district_officer"], "/stats/", query)
    assert response.status_code == 400
    assert words in text(response), text(response)


# Who sees what ------------------------------------------------------------------------------------

ROLES = [
    "district_admin",
    "district_officer",
    "street_officer",
    "street_viewer",
    "community_worker",
    "other_admin",
]
MATRIX = {
    # own district / own street / a community of one's street / the sibling street / another district
    "ranking of A's streets": [200, 200, 404, 404, 404, 404],
    "ranking of S1's communities": [200, 200, 200, 200, 404, 404],
    "ranking of S2's communities": [200, 200, 404, 404, 404, 404],
    "score of A": [200, 200, 404, 404, 404, 404],
    "score of S1": [200, 200, 200, 200, 404, 404],
    "score of C1": [200, 200, 200, 200, 200, 404],
    "score of S2": [200, 200, 404, 404, 404, 404],
    "score of D1": [404, 404, 404, 404, 404, 200],
    "stats of A": [200, 200, 404, 404, 404, 404],
    "stats of S1": [200, 200, 200, 200, 404, 404],
    "stats of S2": [200, 200, 404, 404, 404, 404],
    "periods page (of their own district)": [200, 200, 403, 403, 403, 200],
}


@pytest.mark.parametrize("role", ROLES)
def test_who_sees_which_page(march, role):
    world = march["world"]
    people = dict(march["people"])
    user = people[role]
    a, s1, s2 = world["A"].pk, world["S1"].pk, world["S2"].pk
    pages = {
        "ranking of A's streets": ("/scores/", {"level": "street", "unit": a}),
        "ranking of S1's communities": ("/scores/", {"level": "community", "unit": s1}),
        "ranking of S2's communities": ("/scores/", {"level": "community", "unit": s2}),
        "score of A": (f"/scores/units/{a}/", {}),
        "score of S1": (f"/scores/units/{s1}/", {}),
        "score of C1": (f"/scores/units/{world['C1'].pk}/", {}),
        "score of S2": (f"/scores/units/{s2}/", {}),
        "score of D1": (f"/scores/units/{world['D1'].pk}/", {}),
        "stats of A": ("/stats/", {"unit": a}),
        "stats of S1": ("/stats/", {"unit": s1}),
        "stats of S2": ("/stats/", {"unit": s2}),
        "periods page (of their own district)": ("/scores/periods/", {}),
    }
    found = {name: get(user, url, data).status_code for name, (url, data) in pages.items()}
    expected = {name: MATRIX[name][ROLES.index(role)] for name in pages}
    assert found == expected


# 考核期 -------------------------------------------------------------------------------------------


def test_an_administrator_closes_and_reopens_a_period_after_confirming(march):
    admin = march["people"]["district_admin"]
    a = march["world"]["A"]
    client = browser_client(admin)
    with at(APRIL):
        listing = client.get("/scores/periods/")
        assert listing.status_code == 200
        assert "默认" in text(listing) and "逾期" in text(listing)
        confirm = client.get(f"/scores/periods/2026-03/close/?district={a.pk}")
        assert confirm.status_code == 200 and "关闭" in text(confirm)
        closed = client.post(
            f"/scores/periods/2026-03/close/?district={a.pk}", {"note": "一季度考核"}, follow=True
        )
        assert closed.status_code == 200
        assert PeriodClosure.objects.filter(district=a, start__month=3, kind="month").exists()
        page = text(closed)
        assert "已关闭" in page and "district_admin" in page or admin.get_full_name() in page
        again = client.post(f"/scores/periods/2026-03/close/?district={a.pk}", {})
        assert again.status_code == 409 and "已经关闭" in text(again)
        ranking = client.get("/scores/", {"period": "2026-03"})
        assert "得分已冻结" in text(ranking)
        client.post(f"/scores/periods/2026-03/reopen/?district={a.pk}", {"note": ""})
        assert not PeriodClosure.objects.filter(district=a).exists()
        early = client.post(f"/scores/periods/2026-04/close/?district={a.pk}", {})
        assert early.status_code == 400 and "尚未结束" in text(early)


def test_an_officer_reads_the_periods_without_buttons_and_cannot_post(march):
    officer = march["people"]["district_officer"]
    a = march["world"]["A"]
    page = get(officer, "/scores/periods/")
    assert page.status_code == 200 and "/close/" not in page.content.decode()
    with at(APRIL):
        refused = browser_client(officer).post(f"/scores/periods/2026-03/close/?district={a.pk}", {})
    assert refused.status_code in (403, 404)
    assert not PeriodClosure.objects.exists()


# The ledger and the navigation --------------------------------------------------------------------


def test_the_task_page_offers_the_ledger_and_officials_get_rankings_in_the_navigation(march):
    officer = march["people"]["district_officer"]
    response = get(officer, f"/tasks/{march['t1'].pk}/")
    html = response.content.decode()
    assert f"/api/v1/tasks/{march['t1'].pk}/ledger/?format=xlsx" in html
    assert f"/api/v1/tasks/{march['t1'].pk}/ledger/?format=csv" in html
    assert 'href="/scores/"' in html and 'href="/stats/"' in html
    worker = get(march["people"]["community_worker"], "/mine/").content.decode()
    assert 'href="/scores/"' not in worker


def test_no_score_page_needs_inline_script_or_style(march):
    officer, admin = march["people"]["district_officer"], march["people"]["district_admin"]
    s1 = march["world"]["S1"].pk
    for user, url in [
        (officer, "/scores/"),
        (officer, f"/scores/units/{s1}/"),
        (officer, "/stats/"),
        (admin, "/scores/periods/"),
        (admin, f"/scores/periods/2026-03/close/?district={march['world']['A'].pk}"),
    ]:
        html = get(user, url).content.decode()
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), url
        assert not re.search(r"\s(on[a-z]+|hx-on[:\w-]*|style)=", html), url


# Queries ------------------------------------------------------------------------------------------

# Session, user and memberships (3) as every page; then the selector's own reads: a ranking is its unit,
# policy, closure, count and one page with the previous period joined (in a transaction: SET LOCAL
# jit); a unit's score its lines, children and open count; statistics the stored monthly rows twice.
# One more than measured on the score branch: the header bell counts the unread notifications.
BOUNDS = {"ranking": 14, "unit score": 12, "stats": 11, "periods": 14}


def _count(user, url: str, data: dict) -> int:
    client = browser_client(user)
    with at(APRIL), CaptureQueriesContext(connection) as captured:
        response = client.get(url, data)
    assert response.status_code == 200, url
    return len(captured)


def test_score_pages_run_the_same_bounded_number_of_queries_at_two_sizes(march):
    world, people = march["world"], march["people"]
    officer, admin = people["district_officer"], people["district_admin"]
    pages = {
        "ranking": (officer, "/scores/", {"level": "community", "period": "2026-03"}),
        "unit score": (officer, f"/scores/units/{world['S1'].pk}/", {"period": "2026-03"}),
        "stats": (officer, "/stats/", {"period": "2026-03"}),
        "periods": (admin, "/scores/periods/", {}),
    }
    small = {name: _count(*args) for name, args in pages.items()}

    more = bulk_units(world["S1"], 12, "扩展社区")
    from orgs.models import OrgUnit

    units = list(OrgUnit.objects.filter(pk__in=more))
    task = publish(officer, world["A"], units, when="2026-03-02 09:00", due="2026-03-20 18:00")
    for unit in units[:6]:
        complete(task, unit, officer, submitted="2026-03-10 10:00", approved="2026-03-10 12:00", rating=4)
    from scoring import jobs

    with at("2026-04-01 00:05"):
        jobs.settle_ended_months()
    large = {name: _count(*args) for name, args in pages.items()}

    assert large == small
    assert {name: n for name, n in large.items() if n > BOUNDS[name]} == {}, large


def test_where_the_district_opens_peer_rankings_a_street_sees_its_place_among_the_streets(march):
    from scoring import services
    from scoring.periods import parse_period

    world, people = march["world"], march["people"]
    with at(APRIL):
        services.policy_create(
            actor=people["district_admin"],
            district=world["A"],
            effective_from=parse_period("2026-03"),
            changes={"peer_ranking_visible": True},
        )
        services.scores_recompute(district=world["A"])
    response = get(people["street_officer"], "/scores/", {"level": "street", "period": "2026-03"})
    assert response.status_code == 200
    page = text(response)
    assert "区里已开放同级排名" in page
    own = next(row for row in table_rows(response) if "秦岭路街道" in row)
    assert own.startswith("1 秦岭路街道 本单位 29")
    assert 'class="row-own"' in response.content.decode()
    # Still not a street's business: another street's communities.
    refused = get(people["street_officer"], "/scores/", {"level": "community", "unit": world["S2"].pk})
    assert refused.status_code == 404
