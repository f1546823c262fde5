"""The officers' daily digest: counts per child unit, nothing when nothing, once per Shanghai date."""

import pytest
from django.core.management import call_command

from notifications.digest import digests_send
from notifications.messages import render
from notifications.models import Kind, Notification
from tests.notifications.helpers import at, local, to_communities
from tests.tasks.helpers import assignment_of, submit

pytestmark = pytest.mark.django_db

MORNING = local("2026-11-30 08:30")


@pytest.fixture
def tasks(world, people):
    with at(local("2026-11-25 09:00")):
        soon = to_communities(
            people["district_officer"], world["A"], due_at=local("2026-12-01 18:00"), title="近期任务"
        )
        late = to_communities(
            people["district_officer"], world["A"], due_at=local("2026-11-28 18:00"), title="逾期任务"
        )
        submit(assignment_of(soon, world["C2"]), people["street_officer"])
    return soon, late


def digest_of(user) -> tuple[str, str]:
    notification = Notification.objects.get(recipient=user, kind=Kind.DIGEST)
    return render(notification.kind, notification.data)


def test_each_officer_reads_their_subtree_per_child_unit(tasks, people):
    with at(MORNING):
        made = digests_send()
    assert made.notifications == 2  # the district officer and the street officer; no admin, no worker
    title, body = digest_of(people["street_officer"])
    assert title == "每日工作提醒（2026-11-30）"
    assert body.splitlines() == [
        "秦岭路街道：48 小时内到期 1 项，逾期 2 项，待审核 1 项。",
        "· 建西社区：48 小时内到期 1，逾期 1，待审核 0",
        "· 杜康社区：48 小时内到期 0，逾期 1，待审核 1",
    ]
    _title, body = digest_of(people["district_officer"])
    assert body.splitlines() == [
        "中原区：48 小时内到期 2 项，逾期 3 项，待审核 1 项。",
        "· 建设路街道：48 小时内到期 1，逾期 1，待审核 0",  # siblings in code order
        "· 秦岭路街道：48 小时内到期 1，逾期 2，待审核 1",
    ]


def test_nothing_is_sent_when_there_is_nothing_to_say(world, people):
    with at(MORNING):
        assert digests_send().notifications == 0
    assert not Notification.objects.exists()


def test_once_per_day_and_the_day_turns_at_shanghai_midnight(tasks, people):
    # 23:59 in Shanghai is 15:59 UTC: still the 30th here.
    with at(local("2026-11-30 08:30")):
        digests_send()
    with at(local("2026-11-30 23:59")):
        assert digests_send().notifications == 0
    with at(local("2026-12-01 00:00")):  # 16:00 UTC on the 30th, but the 1st in Shanghai
        assert digests_send().notifications == 2
    occasions = Notification.objects.filter(recipient=people["street_officer"]).values_list(
        "occasion", flat=True
    )
    assert sorted(occasions) == ["2026-11-30", "2026-12-01"]


def test_the_street_officers_digest_by_hand(tasks, people, capsys):
    with at(MORNING):
        call_command("send_digest", user="street_officer")
        call_command("send_digest", user="street_officer")
    out = capsys.readouterr().out
    assert "1 digests made" in out and "already made" in out
    assert Notification.objects.filter(kind=Kind.DIGEST).count() == 1
    assert Notification.objects.get(kind=Kind.DIGEST).recipient == people["street_officer"]
