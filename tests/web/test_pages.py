"""What each page shows, for whom, and what it hides."""

import re

import pytest

from tests.web.conftest import browser_client
from tests.web.helpers import assignment_of

pytestmark = pytest.mark.django_db


def text(response) -> str:
    """The page's visible text, tags dropped and spaces squeezed."""
    body = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", response.content.decode(), flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body))


def test_my_tasks_lists_returned_first_then_by_due_time_with_countdowns(site):
    response = browser_client(site["community_worker"]).get("/mine/")

    page = text(response)
    returned = page.index("党的创新理论“微宣讲”进社区")
    due_tomorrow = page.index("敬老爱老志愿服务")
    overdue = page.index("“门前五包”入户宣传")
    assert returned < overdue < due_tomorrow  # returned first, then the earliest due
    assert "已退回" in page and "已逾期 1 天" not in page  # 13 days after publishing: due yesterday
    assert re.search(r"已逾期 \d+ 小时", page)
    assert re.search(r"还剩 \d+ 小时", page)
    assert "理论宣讲" in page and "文明创建" in page  # the categories
    assert re.search(r"截止 \d{1,2}月\d{1,2}日 \d\d:\d\d", page)
    assert 'class="row row-returned' in response.content.decode()


def test_the_assignment_page_tells_what_to_report_and_shows_the_return_on_top(site):
    returned = site["returned"]
    response = browser_client(site["community_worker"]).get(f"/assignments/{returned.pk}/")

    assert response.status_code == 200
    page = text(response)
    assert "已退回：请按意见修改后重新提交" in page
    assert page.index("照片看不出宣讲内容") < page.index("通知内容")  # the comment before the notice
    assert "至少 1 张、最多 3 张照片；填写活动时间、参加人数、活动地点" in page
    assert "各社区组织宣讲员开展“微宣讲”。" in page
    html = response.content.decode()
    thumbnails = re.findall(r'src="/api/v1/photos/(\d+)/thumbnail/"', html)
    assert len(thumbnails) == 2
    assert "现场照片 1" in html  # the alternative text names the photo
    assert "退回" in page and "评分" not in page


def test_past_report_photos_are_served_to_the_session(site):
    client = browser_client(site["community_worker"])
    html = client.get(f"/assignments/{site['returned'].pk}/").content.decode()
    photo = re.search(r'src="(/api/v1/photos/\d+/thumbnail/)"', html).group(1)

    served = client.get(photo)

    assert served.status_code == 200 and served["Content-Type"] == "image/jpeg"


def test_an_assignment_outside_ones_units_is_a_friendly_404(site, world):
    other = assignment_of(site["tasks"]["lecture"], world["C3"])

    response = browser_client(site["community_worker"]).get(f"/assignments/{other.pk}/")

    assert response.status_code == 404
    page = text(response)
    assert "没有找到" in page and "返回我的首页" in page


def test_the_street_inbox_lists_reports_to_review_its_own_work_and_overdue_communities(site, world):
    response = browser_client(site["street_officer"]).get("/inbox/")

    assert response.status_code == 200
    page = text(response)
    review_at, own_at, overdue_at = (
        page.index(h) for h in ("待审核上报 1 项", "本单位待办任务 1 项", "社区逾期任务 2 项")
    )
    review_part, own_part, overdue_part = page[review_at:own_at], page[own_at:overdue_at], page[overdue_at:]
    assert "杜康社区" in review_part and "党的创新理论" in review_part
    assert "敬老爱老志愿服务" in own_part and "下派 2 个单位，已通过 0 个" in own_part
    assert "“门前五包”入户宣传" in overdue_part and "建西社区" in overdue_part
    assert "电新街社区" not in page  # another street's community


def test_the_inbox_pages_each_list_with_htmx(site, world):
    client = browser_client(site["street_officer"])

    more = client.get("/inbox/?section=overdue&overdue=1", HTTP_HX_REQUEST="true")

    assert more.status_code == 200
    assert "<html" not in more.content.decode()
    assert "“门前五包”入户宣传" in text(more)


def test_the_overview_shows_figures_and_the_units_tasks(site):
    response = browser_client(site["district_officer"]).get("/overview/")

    page = text(response)
    assert "郑州市中原区派发的任务" not in page  # the test district is called 中原区
    assert "中原区派发的任务 3 项" in page
    assert re.search(r"(\d+) 待审核上报", page).group(1) == "1"
    assert "1/3" in page  # 理论宣讲: one of three communities approved


def test_the_viewer_reads_the_overview(site):
    response = browser_client(site["district_viewer"]).get("/", follow=True)

    assert response.status_code == 200 and "总览" in text(response)


def test_the_task_page_shows_progress_down_the_tree_and_the_timeline(site, world):
    task = site["tasks"]["lecture"]
    client = browser_client(site["district_officer"])

    response = client.get(f"/tasks/{task.pk}/")

    page = text(response)
    assert "秦岭路街道" in page and "建设路街道" in page
    assert "共 3 个任务单：已通过 1 个，待审核 1 个，逾期 0 个。" in page
    assert "创建" in page and "已发布" in page  # the timeline
    rows = client.get(f"/tasks/{task.pk}/progress/?unit={world['S1'].pk}", HTTP_HX_REQUEST="true")
    assert "<html" not in rows.content.decode()
    assert "建西社区" in text(rows) and "杜康社区" in text(rows)
    assert "电新街社区" not in text(rows)


def test_a_street_officer_sees_the_district_task_from_the_street_down(site, world):
    task = site["tasks"]["lecture"]

    response = browser_client(site["street_officer"]).get(f"/tasks/{task.pk}/")

    assert response.status_code == 200
    page = text(response)
    assert "建西社区" in page and "电新街社区" not in page


def test_units_and_people(site, world):
    client = browser_client(site["district_officer"])

    district = text(client.get("/units/", follow=True))
    assert "秦岭路街道" in district and "建设路街道" in district
    street = text(client.get(f"/units/{world['S1'].pk}/"))
    assert "建西社区" in street and "street_officer" in street and "专干" in street
    outside = client.get(f"/units/{world['B'].pk}/")
    assert outside.status_code == 404


def test_a_page_past_the_end_says_so(site):
    response = browser_client(site["community_worker"]).get("/mine/?page=9")

    assert response.status_code == 404
    assert "没有第 9 页" in text(response)


def test_error_handlers_speak_the_pages_design(site, client):
    response = browser_client(site["community_worker"]).get("/no-such-page/")

    assert response.status_code == 404
    assert "页面不存在" in text(response)


def test_the_notice_links_its_attachments_for_download(site):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from tasks import services

    task = site["tasks"]["lecture"]
    pdf = SimpleUploadedFile("宣讲提纲.pdf", b"%PDF-1.4\n% a small notice\n", "application/pdf")
    services.task_attachment_add(actor=site["district_officer"], task=task, file=pdf)
    client = browser_client(site["community_worker"])

    html = client.get(f"/assignments/{site['returned'].pk}/").content.decode()

    link = re.search(r'href="(/api/v1/tasks/\d+/attachments/\d+/)" download>宣讲提纲.pdf<', html).group(1)
    download = client.get(link)
    assert download.status_code == 200 and b"".join(download.streaming_content).startswith(b"%PDF")


def test_a_server_error_page_needs_nothing_but_the_template(rf):
    from web.views.errors import server_error

    response = server_error(rf.get("/mine/"))

    assert response.status_code == 500
    page = response.content.decode()
    assert "系统出了点问题" in page and "返回我的首页" in page


def test_no_page_needs_inline_script_or_style_under_the_content_security_policy(site, world):
    """script-src 'self' (no 'unsafe-inline', no 'unsafe-eval'): scripts are files, no inline event
    handlers, no htmx hx-on (it evaluates code), no style attributes (bars use width classes)."""
    lecture = site["tasks"]["lecture"]
    c2 = assignment_of(lecture, world["C2"])
    pages = [
        (site["community_worker"], "/mine/"),
        (site["community_worker"], f"/assignments/{site['returned'].pk}/"),
        (site["community_worker"], f"/assignments/{site['returned'].pk}/report/"),
        (site["street_officer"], "/inbox/"),
        (site["street_officer"], f"/review/{c2.pk}/"),
        (site["district_officer"], "/overview/"),
        (site["district_officer"], f"/tasks/{lecture.pk}/"),
        (site["district_officer"], f"/tasks/new/?unit={world['A'].pk}"),
        (site["district_admin"], f"/units/{world['S1'].pk}/"),
        (site["district_admin"], f"/units/{world['S1'].pk}/import/"),
        (site["community_worker"], "/notifications/"),
        (site["community_worker"], "/notifications/settings/"),
        (site["district_admin"], "/notifications/robots/"),
        (site["district_admin"], "/notifications/robots/new/"),
        (site["district_admin"], "/notifications/deliveries/"),
    ]
    for user, url in pages:
        html = browser_client(user).get(url).content.decode()
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), url
        assert not re.search(r"\s(on[a-z]+|hx-on[:\w-]*|style)=", html), url
