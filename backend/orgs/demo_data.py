"""The demo district: 郑州市中原区 with its 14 street offices and their communities.

Codes follow the statistical division code layout (12 digits: district 410102, street 3 digits,
community 3 digits). Street names are the real ones; community names are partly real (秦岭路街道) and
partly plausible inventions. Coordinates are spread around the district centre so that maps and
distance checks have something to show.
"""

import os
from dataclasses import dataclass
from decimal import Decimal

from orgs.models import Role

DISTRICT_CODE = "410102000000"
DISTRICT_NAME = "郑州市中原区"
DISTRICT_STATION = "中原区新时代文明实践中心"
DISTRICT_ADDRESS = "河南省郑州市中原区中原中路233号"
CENTRE = (Decimal("34.748000"), Decimal("113.612000"))  # latitude, longitude

DEFAULT_PASSWORD = "chuanxi-demo"  # noqa: S105 - the documented demo password, overridable by DEMO_PASSWORD


@dataclass(frozen=True)
class Street:
    name: str  # without the 街道 suffix
    pinyin: str  # the officer's username is street_<pinyin>
    communities: tuple[str, ...]  # without the 社区 suffix


STREETS: tuple[Street, ...] = (
    Street("林山寨", "linshanzhai", ("工人新村", "伊河路", "华山路", "市场街", "嵩山北路", "林山")),
    Street("建设路", "jianshelu", ("互助路", "桐淮小区", "友爱路", "建设东", "百花", "中原新城")),
    Street("棉纺路", "mianfanglu", ("国棉一厂", "国棉三厂", "国棉四厂", "国棉五厂", "棉纺西")),
    Street("秦岭路", "qinlinglu", ("六厂前街", "建西", "电新街", "杜康", "秦江", "金源", "锦艺东", "锦艺西")),
    Street("桐柏路", "tongbailu", ("伏牛路", "桐柏南", "陇海", "工人路", "华山南", "友谊")),
    Street("三官庙", "sanguanmiao", ("三官庙", "西站路", "淮河西路", "协作路", "京广")),
    Street("绿东村", "lvdongcun", ("绿东", "碧沙岗", "嵩山路", "绿云", "政通路")),
    Street("汝河路", "ruhelu", ("汝河", "颍河", "洛河", "郑上路", "汝南")),
    Street("航海西路", "hanghaixilu", ("航海西", "大学路", "嵩山南路", "郑密路", "淮河路", "航西")),
    Street("中原西路", "zhongyuanxilu", ("中原西", "须水河", "秦岭南", "西三环", "五龙口")),
    Street("西流湖", "xiliuhu", ("西流湖", "常庄", "孙庄", "小李庄", "后河卢")),
    Street("须水", "xushui", ("须水", "白寨", "岗坡", "西岗", "董岗", "河西袁")),
    Street("莲湖", "lianhu", ("莲湖", "沟赵", "贾岗", "陈伍寨", "莲花")),
    Street("柳湖", "liuhu", ("柳湖", "杨庄", "石佛", "宋庄")),
)

_SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕"
_GIVEN = (
    "建国", "秀英", "志强", "桂兰", "海燕", "晓东", "丽娟", "文博", "雪梅", "国庆",
    "春华", "明辉", "玉珍", "振宇", "红霞", "思远", "佳怡", "卫东", "淑芬", "浩然",
)  # fmt: skip


def person_name(index: int) -> str:
    """A deterministic, plausible Chinese name: the same index always gives the same person."""
    return _SURNAMES[index % len(_SURNAMES)] + _GIVEN[(index * 7) % len(_GIVEN)]


def street_code(street_no: int) -> str:
    return f"410102{street_no:03d}000"


def community_code(street_no: int, community_no: int) -> str:
    return f"410102{street_no:03d}{community_no:03d}"


def _offset(value: Decimal, steps: int, step: str) -> Decimal:
    return (value + steps * Decimal(step)).quantize(Decimal("0.000001"))


@dataclass(frozen=True)
class UnitSpec:
    code: str
    name: str
    parent_code: str | None
    station_name: str
    address: str
    contact_phone: str
    latitude: Decimal
    longitude: Decimal


@dataclass(frozen=True)
class AccountSpec:
    username: str
    real_name: str
    role: str
    unit_code: str
    superuser: bool = False
    mobile: str | None = None  # to try logging in by mobile number


def demo_mobile(index: int) -> str:
    """A made-up mainland number per account (137 0371 + 4 digits), stable across runs."""
    return f"1370371{index:04d}"


def units() -> list[UnitSpec]:
    """Every demo unit, parents before children."""
    lat0, lon0 = CENTRE
    specs = [
        UnitSpec(
            code=DISTRICT_CODE,
            name=DISTRICT_NAME,
            parent_code=None,
            station_name=DISTRICT_STATION,
            address=DISTRICT_ADDRESS,
            contact_phone="0371-67180000",
            latitude=lat0,
            longitude=lon0,
        )
    ]
    for street_no, street in enumerate(STREETS, start=1):
        # Streets on a 4 x 4 grid about 2 km apart, communities in a small ring around their street.
        s_lat = _offset(lat0, (street_no - 1) // 4 - 2, "0.018")
        s_lon = _offset(lon0, (street_no - 1) % 4 - 2, "0.022")
        specs.append(
            UnitSpec(
                code=street_code(street_no),
                name=f"{street.name}街道",
                parent_code=DISTRICT_CODE,
                station_name=f"{street.name}街道新时代文明实践所",
                address=f"郑州市中原区{street.name}街道办事处",
                contact_phone=f"0371-6718{street_no:02d}00",
                latitude=s_lat,
                longitude=s_lon,
            )
        )
        for community_no, community in enumerate(street.communities, start=1):
            specs.append(
                UnitSpec(
                    code=community_code(street_no, community_no),
                    name=f"{community}社区",
                    parent_code=street_code(street_no),
                    station_name=f"{community}社区新时代文明实践站",
                    address=f"郑州市中原区{street.name}街道{community}社区党群服务中心",
                    contact_phone=f"0371-6718{street_no:02d}{community_no:02d}",
                    latitude=_offset(s_lat, community_no % 3 - 1, "0.004"),
                    longitude=_offset(s_lon, community_no // 3 - 1, "0.005"),
                )
            )
    return specs


def accounts() -> list[AccountSpec]:
    """Every demo account: one per role at the district, an officer per street, a worker per community."""
    specs = [
        AccountSpec("admin", "系统管理员", Role.ADMINISTRATOR, DISTRICT_CODE, superuser=True),
        AccountSpec("district_officer", person_name(0), Role.OFFICER, DISTRICT_CODE, mobile=demo_mobile(1)),
        AccountSpec("inspector", person_name(1), Role.VIEWER, DISTRICT_CODE, mobile=demo_mobile(2)),
    ]
    index = 2
    for street_no, street in enumerate(STREETS, start=1):
        code = street_code(street_no)
        specs.append(
            AccountSpec(
                f"street_{street.pinyin}",
                person_name(index),
                Role.OFFICER,
                code,
                mobile=demo_mobile(index + 1),
            )
        )
        index += 1
        for community_no in range(1, len(street.communities) + 1):
            code = community_code(street_no, community_no)
            specs.append(
                AccountSpec(
                    f"worker_{code[-6:]}",
                    person_name(index),
                    Role.WORKER,
                    code,
                    mobile=demo_mobile(index + 1),
                )
            )
            index += 1
    return specs


# The handful of accounts worth trying first; `load_demo` prints all of them.
HIGHLIGHTED = ("admin", "district_officer", "inspector", "street_qinlinglu", "worker_004002")


def demo_password() -> str:
    return os.environ.get("DEMO_PASSWORD") or DEFAULT_PASSWORD
