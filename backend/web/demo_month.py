"""A month of practice work in the demo district, so that every page of every demo account shows
something true: tasks of every category in every state (draft, published, delegated, submitted with
photos, returned with comments, approved with ratings, overdue, a reused photo, closed, cancelled).

Everything goes through the real services (tasks.services, evidence.services), as the people would
have done it, with the clock set back to each moment (time-machine): the services refuse a due time
in the past, so an overdue assignment can only come from a task published while its due time was
still ahead. Dates are relative to now in Asia/Shanghai. Photos are drawn on the spot
(web.demo_photos) and processed inline (evidence.services.photo_process), so thumbnails exist at once.

Idempotent: the month is written in one transaction and skipped whole when its tasks exist.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone

from evidence import services as evidence_services
from orgs import demo_data
from orgs.models import OrgUnit, User
from tasks import services
from tasks.models import Assignment, PracticeTask, Submission, TaskCategory
from web.demo_photos import activity_photo

APPROVE, RETURN = Submission.Decision.APPROVE, Submission.Decision.RETURN


@dataclass
class Cast:
    """The demo's people and units, found by the codes and usernames of orgs.demo_data."""

    district: OrgUnit
    district_officer: User
    streets: dict[str, OrgUnit]  # street code -> unit
    street_officers: dict[str, User]  # street code -> officer
    communities: dict[str, OrgUnit]  # community code -> unit
    workers: dict[str, User]  # community code -> worker
    categories: dict[str, TaskCategory] = field(default_factory=dict)

    def communities_of(self, street_code: str) -> list[OrgUnit]:
        street = self.streets[street_code]
        return sorted(
            (c for c in self.communities.values() if c.parent_id == street.pk), key=lambda c: c.code
        )


@dataclass
class MonthResult:
    created: int  # tasks written by this run (0 when the month was already there)
    photos: int


def _now() -> datetime:
    """The demo's "now", to the minute, so every offset lands on a round time."""
    return timezone.now().replace(second=0, microsecond=0)


class Month:
    def __init__(self, cast: Cast, now: datetime):
        self.cast = cast
        self.now = now
        self.photos = 0
        self.tasks = 0

    # Time ----------------------------------------------------------------------------------------

    def at(self, days: float, hour: int | None = None) -> datetime:
        """`days` from now; with `hour`, that hour of the day (Asia/Shanghai)."""
        moment = timezone.localtime(self.now + timedelta(days=days))
        if hour is not None:
            moment = moment.replace(hour=hour, minute=0)
        return moment

    @contextmanager
    def clock(self, moment: datetime) -> Iterator[datetime]:
        with time_machine.travel(moment, tick=False):
            yield moment

    # Actions -------------------------------------------------------------------------------------

    def task(
        self,
        *,
        when: datetime,
        actor: User,
        issuer: OrgUnit,
        title: str,
        category: str,
        due: datetime,
        description: str,
        targets: list[dict[str, Any]],
        requirements: dict[str, Any] | None = None,
        points: int = 10,
        publish: bool = True,
    ) -> PracticeTask:
        with self.clock(when):
            task = services.task_create(
                actor=actor,
                issuer_unit=issuer,
                title=title,
                category=self.cast.categories[category],
                due_at=due,
                description=description,
                points=points,
                evidence_requirements=requirements or {"min_photos": 1, "max_photos": 3},
                targets=targets,
            )
            if publish:
                services.task_publish(actor=actor, task=task)
        self.tasks += 1
        return task

    def assignment(self, task: PracticeTask, unit: OrgUnit) -> Assignment:
        """The assignment as it stands now (versions change with every step)."""
        return Assignment.objects.select_related("unit__parent", "task", "current_submission").get(
            task=task, unit=unit
        )

    def accept(self, when: datetime, task: PracticeTask, unit: OrgUnit, actor: User) -> None:
        with self.clock(when):
            services.assignment_accept(actor=actor, assignment=self.assignment(task, unit))

    def delegate(
        self, when: datetime, task: PracticeTask, street: OrgUnit, actor: User, due: datetime
    ) -> None:
        with self.clock(when):
            services.assignment_delegate(
                actor=actor,
                assignment=self.assignment(task, street),
                targets=[{"unit": street.pk, "level": "community"}],
                due_at=due,
            )

    def submit(
        self,
        when: datetime,
        task: PracticeTask,
        unit: OrgUnit,
        actor: User,
        *,
        summary: str,
        photos: int = 1,
        seed: int,
        banner: str = "新时代文明实践",
        participants: int | None = None,
        without_exif: int = 0,
        reuse: bytes | None = None,
    ) -> list[bytes]:
        """A report with `photos` phone photos taken at the activity (a few hours before `when`);
        `reuse` sends those bytes as its first photo (the same file again, flagged as a duplicate)."""
        held_at = when - timedelta(hours=3)
        files = []
        for index in range(photos):
            if index == 0 and reuse is not None:
                files.append(reuse)
                continue
            taken = None if index < without_exif else held_at + timedelta(minutes=5 + 7 * index)
            files.append(
                activity_photo(
                    seed=seed * 10 + index,
                    banner=banner,
                    taken_at=taken,
                    latitude=(unit.latitude or Decimal(0)) + Decimal("0.0004") * index,
                    longitude=(unit.longitude or Decimal(0)) - Decimal("0.0003") * index,
                )
            )
        uploads = [
            SimpleUploadedFile(f"IMG_{when:%Y%m%d}_{seed:03d}{index}.jpg", data, "image/jpeg")
            for index, data in enumerate(files)
        ]
        inspected, errors = evidence_services.photos_inspect(uploads=uploads)
        assert not errors, errors  # our own photos: a refusal here is a bug in the demo
        with self.clock(when):
            submission = services.assignment_submit(
                actor=actor,
                assignment=self.assignment(task, unit),
                summary=summary,
                held_at=held_at if photos or participants else None,
                ended_at=held_at + timedelta(hours=2) if photos else None,
                participants=participants if participants is not None else 30 + seed % 70,
                volunteers=6 + seed % 9,
                volunteer_hours=Decimal(2 * (6 + seed % 9)),
                location_text=unit.station_name or unit.name,
                photos=inspected,
            )
        for photo in submission.photos.all():
            with self.clock(when + timedelta(minutes=1)):
                evidence_services.photo_process(photo_id=photo.pk)
        self.photos += len(files)
        return files

    def report_up(
        self, when: datetime, task: PracticeTask, street: OrgUnit, actor: User, summary: str
    ) -> None:
        """A street reports a delegated assignment: its communities' approved reports are the evidence."""
        with self.clock(when):
            services.assignment_submit(actor=actor, assignment=self.assignment(task, street), summary=summary)

    def review(
        self,
        when: datetime,
        task: PracticeTask,
        unit: OrgUnit,
        actor: User,
        decision: str,
        *,
        comment: str = "",
        rating: int | None = None,
    ) -> None:
        with self.clock(when):
            services.assignment_review(
                actor=actor,
                assignment=self.assignment(task, unit),
                decision=decision,
                comment=comment,
                rating=rating,
            )

    def urge(self, when: datetime, task: PracticeTask, unit: OrgUnit, actor: User, comment: str) -> None:
        with self.clock(when):
            services.assignment_urge(actor=actor, assignment=self.assignment(task, unit), comment=comment)


# The month -----------------------------------------------------------------------------------------

TITLES = (
    "“我们的节日·重阳”敬老爱老志愿服务",
    "党的二十届四中全会精神“微宣讲”进社区",
    "文明城市创建：背街小巷环境卫生整治",
    "“红色文艺轻骑兵”进基层演出",
    "移风易俗：倡导婚事新办、丧事简办宣传月",
    "“学雷锋”志愿服务集中行动",
    "“门前五包”责任制入户宣传",
    "秦岭路街道“百姓宣讲团”楼院巡讲",
)


def _scenario(m: Month) -> None:  # noqa: PLR0915 - one month, told in order
    cast = m.cast
    district, officer = cast.district, cast.district_officer
    qinling = "410102004000"
    linshan, jianshe, mianfang = "410102001000", "410102002000", "410102003000"
    q_street, q_officer = cast.streets[qinling], cast.street_officers[qinling]
    q_comms = cast.communities_of(qinling)  # 六厂前街, 建西, 电新街, 杜康, 秦江, 金源, 锦艺东, 锦艺西
    liuchang, jianxi, dianxin, dukang, qinjiang, jinyuan = q_comms[:6]

    def worker(unit: OrgUnit) -> User:
        return cast.workers[unit.code]

    # A. 志愿服务, three streets, delegated by 秦岭路, all approved with ratings, then closed.
    a = m.task(
        when=m.at(-30, 9),
        actor=officer,
        issuer=district,
        title=TITLES[0],
        category="volunteer_service",
        due=m.at(-14, 18),
        description=(
            "各街道组织新时代文明实践志愿者开展重阳节敬老爱老志愿服务：走访慰问辖区高龄、独居老人，"
            "开展义诊、理发、清洁等服务。\n请于截止时间前上报活动情况及现场照片（1—3 张）。"
        ),
        targets=[{"unit": cast.streets[code].pk} for code in (linshan, jianshe, qinling)],
        points=20,
    )
    for code in (linshan, jianshe, qinling):
        m.accept(m.at(-29, 10), a, cast.streets[code], cast.street_officers[code])
    m.delegate(m.at(-29, 15), a, q_street, q_officer, due=m.at(-17, 18))
    first_photo: bytes | None = None
    for index, community in enumerate(q_comms):
        files = m.submit(
            m.at(-25 + index % 4, 16),
            a,
            community,
            worker(community),
            summary=f"{community.name}组织志愿者走访慰问辖区高龄老人，开展义诊、理发和居家清洁服务。",
            seed=100 + index,
            banner="重阳敬老 志愿服务",
        )
        if community == jianxi:
            first_photo = files[0]
    for index, community in enumerate(q_comms):
        m.review(m.at(-19, 10), a, community, q_officer, APPROVE, rating=5 if index % 3 else 4)
    m.report_up(
        m.at(-17, 10),
        a,
        q_street,
        q_officer,
        "秦岭路街道 8 个社区均已完成重阳敬老志愿服务，共走访老人 312 户。",
    )
    m.review(m.at(-16, 9), a, q_street, officer, APPROVE, rating=5, comment="组织有力，覆盖全面。")
    m.submit(
        m.at(-20, 17), a, cast.streets[linshan], cast.street_officers[linshan],
        summary="林山寨街道联合辖区医院开展敬老义诊，服务老人 96 人次。", photos=2, seed=120, banner="重阳敬老 义诊服务",
    )  # fmt: skip
    m.review(m.at(-19, 11), a, cast.streets[linshan], officer, APPROVE, rating=4)
    m.submit(
        m.at(-21, 16), a, cast.streets[jianshe], cast.street_officers[jianshe],
        summary="建设路街道组织志愿者慰问独居老人。", photos=1, seed=123, banner="敬老爱老",
    )  # fmt: skip
    m.review(
        m.at(-19, 15), a, cast.streets[jianshe], officer, RETURN,
        comment="请补充活动现场照片（至少 2 张），并写明服务老人人数。",
    )  # fmt: skip
    m.submit(
        m.at(-17, 11), a, cast.streets[jianshe], cast.street_officers[jianshe],
        summary="建设路街道组织志愿者慰问独居老人 58 户，开展理发、清洁服务。", photos=2, seed=124, banner="敬老爱老",
    )  # fmt: skip
    m.review(m.at(-16, 10), a, cast.streets[jianshe], officer, APPROVE, rating=3)
    with m.clock(m.at(-12, 9)):
        services.task_close(actor=officer, task=a, reason="活动结束，任务归档。")

    # B. 理论宣讲 straight to every community, due three days ago: approved, returned, waiting and
    # overdue ones; one photo is a file sent before for another task (a duplicate flag).
    b = m.task(
        when=m.at(-20, 9),
        actor=officer,
        issuer=district,
        title=TITLES[1],
        category="theory_lecture",
        due=m.at(-3, 18),
        description=(
            "各社区新时代文明实践站组织宣讲员，用群众听得懂的语言开展“微宣讲”，每场不少于 20 分钟。"
            "\n上报宣讲现场照片 1—3 张，写明参加人数。"
        ),
        targets=[{"unit": district.pk, "level": "community"}],
    )
    for community in q_comms + cast.communities_of(linshan):
        m.accept(m.at(-19, 10), b, community, worker(community))
    outcomes = {
        liuchang: (APPROVE, 5), jianxi: (APPROVE, 5), dianxin: (APPROVE, 4), dukang: (RETURN, None),
        qinjiang: (None, None), jinyuan: (None, None), q_comms[6]: (APPROVE, 4), q_comms[7]: (APPROVE, 3),
    }  # fmt: skip
    for index, (community, (decision, rating)) in enumerate(outcomes.items()):
        m.submit(
            m.at(-15 + index % 5, 19),
            b,
            community,
            worker(community),
            summary=f"{community.name}宣讲员结合身边事开展“微宣讲”，居民代表踊跃交流。",
            seed=200 + index,
            banner="理论微宣讲",
            participants=40 + index * 7,
        )
        if decision == RETURN:
            m.review(
                m.at(-8, 10), b, community, q_officer, RETURN,
                comment="宣讲照片看不出宣讲内容，请补充横幅或课件画面的照片，并核实参加人数。",
            )  # fmt: skip
        elif decision == APPROVE:
            m.review(m.at(-8, 11), b, community, q_officer, APPROVE, rating=rating)
    for index, community in enumerate(cast.communities_of(linshan)):
        m.submit(
            m.at(-12, 18),
            b,
            community,
            worker(community),
            summary=f"{community.name}开展“微宣讲”进楼院活动。",
            seed=220 + index,
            banner="理论微宣讲",
            reuse=first_photo if index == len(cast.communities_of(linshan)) - 1 else None,
        )
        m.review(m.at(-9, 9), b, community, cast.street_officers[linshan], APPROVE, rating=4)
    for index, community in enumerate(cast.communities_of(jianshe)[:3]):
        m.submit(
            m.at(-10, 18), b, community, worker(community),
            summary=f"{community.name}组织党员群众学习宣讲。", seed=240 + index, banner="理论微宣讲",
        )  # fmt: skip
    m.review(
        m.at(-6, 10), b, cast.communities_of(jianshe)[0], cast.street_officers[jianshe], APPROVE, rating=4
    )
    m.urge(
        m.at(-2, 9),
        b,
        cast.communities_of(mianfang)[0],
        cast.street_officers[mianfang],
        "已逾期，请尽快组织宣讲并上报。",
    )

    # C. 文明创建 to every street, due in four days: 秦岭路 delegated; 建西 returned (no EXIF photo),
    # 电新街 waiting for review, 六厂前街 approved; 棉纺路 not yet signed and urged.
    c = m.task(
        when=m.at(-6, 9),
        actor=officer,
        issuer=district,
        title=TITLES[2],
        category="civilization_campaign",
        due=m.at(4, 18),
        description=(
            "围绕全国文明城市创建，各街道组织对背街小巷、老旧小区开展环境卫生集中整治，清理卫生死角、"
            "规范车辆停放。\n上报整治前后对比照片 2—3 张。"
        ),
        targets=[{"unit": district.pk, "level": "street"}],
        requirements={"min_photos": 2, "max_photos": 3, "participants_required": False},
        points=15,
    )
    m.accept(m.at(-5, 10), c, cast.streets[jianshe], cast.street_officers[jianshe])
    m.delegate(m.at(-5, 11), c, q_street, q_officer, due=m.at(3, 18))
    m.submit(
        m.at(-3, 17), c, jianxi, worker(jianxi),
        summary="建西社区组织志愿者清理楼道杂物和背街小巷垃圾。", photos=2, seed=300, banner="环境卫生整治", without_exif=1,
    )  # fmt: skip
    m.review(
        m.at(-2, 10), c, jianxi, q_officer, RETURN,
        comment="照片未体现整治前后对比，请补充整治后的街巷照片（同一角度）。有一张照片没有拍摄信息，请用手机相机现场拍摄。",
    )  # fmt: skip
    m.submit(
        m.at(-2, 16), c, dianxin, worker(dianxin),
        summary="电新街社区清理背街小巷卫生死角 6 处，规范非机动车停放。", photos=2, seed=310, banner="环境卫生整治",
    )  # fmt: skip
    m.submit(
        m.at(-3, 15), c, liuchang, worker(liuchang),
        summary="六厂前街社区完成辖区 3 条背街小巷整治。", photos=2, seed=320, banner="环境卫生整治",
    )  # fmt: skip
    m.review(m.at(-1, 10), c, liuchang, q_officer, APPROVE, rating=4)
    m.urge(m.at(-1, 9), c, cast.streets[mianfang], officer, "请尽快签收并部署整治工作。")

    # D. 文化惠民 to two streets, just published; 秦岭路 signed.
    d = m.task(
        when=m.at(-2, 10),
        actor=officer,
        issuer=district,
        title=TITLES[3],
        category="cultural_activity",
        due=m.at(12, 18),
        description="区文化馆“红色文艺轻骑兵”小分队下沉街道演出，请各街道协调场地、组织群众观看。",
        targets=[{"unit": cast.streets[mianfang].pk}, {"unit": q_street.pk}],
    )
    m.accept(m.at(-1, 9), d, q_street, q_officer)

    # E. 移风易俗: a draft, not yet published.
    m.task(
        when=m.at(-1, 15),
        actor=officer,
        issuer=district,
        title=TITLES[4],
        category="customs_reform",
        due=m.at(25, 18),
        description="利用社区宣传栏、居民群、文艺演出等形式，宣传婚事新办、丧事简办，抵制高额彩礼和大操大办。",
        targets=[{"unit": district.pk, "level": "community"}],
        publish=False,
    )

    # F. 志愿服务, published twice by mistake and cancelled.
    f = m.task(
        when=m.at(-15, 9),
        actor=officer,
        issuer=district,
        title=TITLES[5],
        category="volunteer_service",
        due=m.at(5, 18),
        description="与区文明办通知重复。",
        targets=[{"unit": district.pk, "level": "street"}],
    )
    with m.clock(m.at(-14, 10)):
        services.task_cancel(actor=officer, task=f, reason="与区文明办通知重复，撤销本任务。")

    # G. 文明创建 to 秦岭路's communities, due yesterday: 建西 overdue, two approved.
    g = m.task(
        when=m.at(-10, 9),
        actor=officer,
        issuer=district,
        title=TITLES[6],
        category="civilization_campaign",
        due=m.at(-1, 12),
        description="入户宣传“门前五包”责任制，发放告知书，沿街商户签订责任书。",
        targets=[{"unit": q_street.pk, "level": "community"}],
        requirements={"min_photos": 1, "max_photos": 2},
    )
    m.accept(m.at(-9, 9), g, jianxi, worker(jianxi))
    for index, community in enumerate((liuchang, dianxin)):
        m.submit(
            m.at(-5, 15), g, community, worker(community),
            summary=f"{community.name}入户宣传“门前五包”，沿街商户签订责任书。", seed=400 + index, banner="门前五包",
        )  # fmt: skip
        m.review(m.at(-4, 10), g, community, q_officer, APPROVE, rating=4)
    m.urge(m.at(-0.1), g, jianxi, q_officer, "“门前五包”宣传已逾期，请今天内上报。")

    # H. 理论宣讲 issued by 秦岭路 itself to its communities, due tomorrow afternoon.
    h = m.task(
        when=m.at(-4, 9),
        actor=q_officer,
        issuer=q_street,
        title=TITLES[7],
        category="theory_lecture",
        due=m.at(1, 17),
        description="街道“百姓宣讲团”分批进楼院宣讲，各社区安排场地、组织居民参加。",
        targets=[{"unit": q_street.pk, "level": "community"}],
        requirements={"min_photos": 1, "max_photos": 2},
    )
    m.accept(m.at(-3, 9), h, jianxi, worker(jianxi))
    m.submit(
        m.at(-2, 19), h, liuchang, worker(liuchang),
        summary="六厂前街社区在 3 号院开展楼院宣讲。", seed=500, banner="百姓宣讲团",
    )  # fmt: skip
    m.review(m.at(-1, 11), h, liuchang, q_officer, APPROVE, rating=5)
    m.submit(
        m.at(-1, 18), h, dukang, worker(dukang),
        summary="杜康社区在党群服务中心开展宣讲。", seed=510, banner="百姓宣讲团",
    )  # fmt: skip


def cast_from_demo() -> Cast:
    """The cast of `manage.py load_demo` (orgs.demo_data)."""
    units = {unit.code: unit for unit in OrgUnit.objects.filter(code__startswith=demo_data.DISTRICT_CODE[:6])}
    users = {
        user.username: user
        for user in User.objects.filter(username__in=[s.username for s in demo_data.accounts()])
    }
    streets, officers, communities, workers = {}, {}, {}, {}
    for street_no, street in enumerate(demo_data.STREETS, start=1):
        code = demo_data.street_code(street_no)
        streets[code] = units[code]
        officers[code] = users[f"street_{street.pinyin}"]
        for community_no in range(1, len(street.communities) + 1):
            community = demo_data.community_code(street_no, community_no)
            communities[community] = units[community]
            workers[community] = users[f"worker_{community[-6:]}"]
    return Cast(
        district=units[demo_data.DISTRICT_CODE],
        district_officer=users["district_officer"],
        streets=streets,
        street_officers=officers,
        communities=communities,
        workers=workers,
        categories={category.code: category for category in TaskCategory.objects.all()},
    )


def load_month(cast: Cast | None = None) -> MonthResult:
    """Write the month unless it is there already (all or nothing, in one transaction)."""
    cast = cast or cast_from_demo()
    if PracticeTask.objects.filter(issuer_unit__tree_id=cast.district.tree_id, title__in=TITLES).exists():
        return MonthResult(created=0, photos=0)
    month = Month(cast, _now())
    with transaction.atomic():
        _scenario(month)
    return MonthResult(created=month.tasks, photos=month.photos)
