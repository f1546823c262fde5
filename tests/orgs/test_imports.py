"""Bulk import of the division list and of people: all rows or none, idempotent, scoped, bounded queries."""

import copy
import csv
import io
import json

import openpyxl
import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import translation

from common.exceptions import Forbidden, PayloadTooLarge, ValidationFailed
from orgs import services
from orgs.imports import ImportResult, read_table, units_import, users_import
from orgs.models import Membership, OrgEvent, OrgUnit, Role, User
from orgs.tree import tree_problems
from tests.conftest import build_world, login, made_once_for_the_scope
from tests.factories import platform_admin

UNIT_HEADER = ["code", "name", "parent_code", "latitude", "longitude"]
USER_HEADER = ["username", "real_name", "mobile", "unit_code", "role"]


@pytest.fixture(scope="module")
def _world(django_db_setup, django_db_blocker):
    """The two districts most of these tests import into: made once, undone after every test."""
    yield from made_once_for_the_scope(django_db_blocker, build_world)


@pytest.fixture
def world(_world, db):
    return copy.deepcopy(_world)


@pytest.fixture(autouse=True)
def _english():
    """Messages are asserted in their English source form, whatever translations exist."""
    with translation.override("en"):
        yield


def csv_file(header: list[str], rows: list[list], encoding: str = "utf-8") -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding)


def xlsx_file(header: list[str], rows: list[list]) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def row_errors(excinfo) -> dict[int, str]:
    """{row number: all its messages joined} from a ValidationFailed."""
    return {entry["row"]: " | ".join(entry["errors"]) for entry in excinfo.value.extra["rows"]}


def snapshot() -> list[tuple]:
    return list(
        OrgUnit.objects.order_by("code").values_list(
            "code", "name", "parent_id", "tree_id", "lft", "rght", "level", "latitude"
        )
    )


def import_units(rows: list[list], actor=None, header: list[str] = UNIT_HEADER) -> ImportResult:
    return units_import(actor=actor or platform_admin(), file=csv_file(header, rows), filename="units.csv")


# Units: the happy paths ---------------------------------------------------------------------------


def test_import_builds_new_units_at_every_level(world):
    result = import_units(
        [
            ["410105000000", "金水区", "", "34.8", "113.66"],
            ["410105001000", "经八路街道", "410105000000", "", ""],
            ["410105001001", "省委社区", "410105001000", "34.7712345", "113.6812"],
            ["410102002002", "新建社区", "410102002000", "", ""],  # under an existing street
        ]
    )

    assert result == ImportResult(created=4, updated=0, unchanged=0)
    district = OrgUnit.objects.get(code="410105000000")
    street = OrgUnit.objects.get(code="410105001000")
    community = OrgUnit.objects.get(code="410105001001")
    assert (district.level, street.parent_id, community.parent_id) == (0, district.pk, street.pk)
    assert community.level_key == "community"
    assert str(community.latitude) == "34.771235"  # rounded to the six places the column keeps
    assert district.tree_id not in {world["A"].tree_id, world["B"].tree_id}
    assert OrgUnit.objects.get(code="410102002002").parent_id == world["S2"].pk
    district_a = OrgUnit.objects.get(pk=world["A"].pk)  # fresh nested-set numbers
    assert district_a.get_descendants().filter(code="410102002002").exists()
    assert tree_problems() == []
    event = OrgEvent.objects.get(verb=OrgEvent.Verb.UNITS_IMPORTED)
    assert event.actor == platform_admin()
    assert (event.data["created"], event.data["updated"], event.data["unchanged"]) == (4, 0, 0)


def test_importing_the_same_file_again_changes_nothing(world):
    rows = [
        ["410105000000", "金水区", "", "34.8", "113.66"],
        ["410105001000", "经八路街道", "410105000000", "", ""],
        ["410105001001", "省委社区", "410105001000", "", ""],
        ["410102010001", "建西社区", "410102010000", "", ""],  # an existing unit, as it is
    ]
    import_units(rows)
    before = snapshot()

    again = import_units(rows)

    assert again == ImportResult(created=0, updated=0, unchanged=4)
    assert snapshot() == before
    assert tree_problems() == []


def test_reimport_updates_fields_by_code(world):
    result = units_import(
        actor=platform_admin(),
        file=csv_file(
            ["code", "name", "parent_code", "address", "is_active"],
            [["410102010001", "建西社区（新）", "410102010000", "建设西路1号", "否"]],
        ),
    )

    assert result == ImportResult(created=0, updated=1, unchanged=0)
    unit = OrgUnit.objects.get(code="410102010001")
    assert (unit.pk, unit.name, unit.address, unit.is_active) == (
        world["C1"].pk,
        "建西社区（新）",
        "建设西路1号",
        False,
    )


def test_reimport_with_another_parent_moves_the_unit_keeping_people_and_history(world, people):
    worker = people["community_worker"]

    result = import_units([["410102010001", "建西社区", "410102002000", "", ""]])  # C1: S1 -> S2

    assert result == ImportResult(created=0, updated=1, unchanged=0)
    moved = OrgUnit.objects.get(code="410102010001")
    assert moved.pk == world["C1"].pk
    assert moved.parent_id == world["S2"].pk
    assert Membership.objects.filter(user=worker, unit=moved).exists()
    assert OrgEvent.objects.filter(unit=moved, verb=OrgEvent.Verb.UNIT_CREATED).exists()
    assert set(OrgUnit.objects.filter(parent=world["S2"]).values_list("code", flat=True)) == {
        "410102002001",
        "410102010001",
    }
    assert tree_problems() == []


def test_a_street_moved_to_another_district_takes_its_communities_along(world):
    result = import_units([["410103001000", "淮河路街道", "410102000000", "", ""]])  # T1: B -> A

    assert result.updated == 1
    street = OrgUnit.objects.get(code="410103001000")
    community = OrgUnit.objects.get(code="410103001001")
    a = OrgUnit.objects.get(code="410102000000")
    assert (street.tree_id, street.parent_id, community.tree_id, community.level) == (
        a.tree_id,
        a.pk,
        a.tree_id,
        2,
    )
    assert community.is_descendant_of(a)
    assert OrgUnit.objects.get(code="410103000000").get_descendant_count() == 0
    assert tree_problems() == []


def test_new_units_can_hang_below_a_unit_the_same_file_moves(world):
    result = import_units(
        [
            ["410103001000", "淮河路街道", "410102000000", "", ""],  # T1 moves to A
            ["410103001002", "新社区", "410103001000", "", ""],  # and gains a community
        ]
    )

    assert result == ImportResult(created=1, updated=1, unchanged=0)
    assert OrgUnit.objects.get(code="410103001002").tree_id == world["A"].tree_id
    assert tree_problems() == []


# Units: encodings and formats -----------------------------------------------------------------------

CHINESE_HEADER = ["代码", "名称", "上级代码", "实践站名称", "地址", "联系电话", "纬度", "经度"]
CHINESE_ROWS = [
    ["410105000000", "金水区", "", "金水区新时代文明实践中心", "", "", "", ""],
    ["410105001000", "经八路街道", "410105000000", "", "经八路1号", "0371-6555", "34.77", "113.68"],
]


@pytest.mark.parametrize("encoding", ["gbk", "utf-8-sig", "utf-8"])
def test_csv_in_gbk_or_utf8_with_or_without_bom(world, encoding):
    content = csv_file(CHINESE_HEADER, CHINESE_ROWS, encoding=encoding)

    result = units_import(actor=platform_admin(), file=content, filename="区划.csv")

    assert result.created == 2
    district = OrgUnit.objects.get(code="410105000000")
    street = OrgUnit.objects.get(code="410105001000")
    assert (district.name, district.station_name) == ("金水区", "金水区新时代文明实践中心")
    assert (street.address, street.contact_phone, str(street.longitude)) == (
        "经八路1号",
        "0371-6555",
        "113.680000",
    )
    assert tree_problems() == []


def test_xlsx_with_codes_typed_as_numbers(world):
    content = xlsx_file(
        ["区划代码", "名称", "上级代码", "纬度"],
        [[410105000000, "金水区", None, 34.8], [410105001000, "经八路街道", 410105000000, None]],
    )

    result = units_import(actor=platform_admin(), file=content, filename="whatever.csv")  # content decides

    assert result.created == 2
    assert OrgUnit.objects.get(code="410105001000").parent.code == "410105000000"
    assert str(OrgUnit.objects.get(code="410105000000").latitude) == "34.800000"
    assert tree_problems() == []


def test_blank_rows_are_skipped_but_keep_their_row_numbers():
    headers, rows = read_table(b",,\ncode,name,parent_code\n\nX1,,\n,,\nX2,b,X1\n")

    assert headers == ["code", "name", "parent_code"]
    assert [number for number, _cells in rows] == [4, 6]


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"<!DOCTYPE html><html><body>Login</body></html>", "web page"),
        (b"PK\x03\x04 this is not really a workbook", "cannot be read"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1 old xls", ".xls"),
        (bytes(range(256)) * 4, "neither an XLSX workbook nor a CSV"),
        (b"", "empty"),
    ],
    ids=["html", "fake-zip", "xls", "binary", "empty"],
)
def test_files_that_are_not_tables_are_refused(world, content, words):
    with pytest.raises(ValidationFailed) as excinfo:
        units_import(actor=platform_admin(), file=content)

    assert words in excinfo.value.message
    assert tree_problems() == []


def test_missing_required_columns_is_a_file_error(world):
    with pytest.raises(ValidationFailed) as excinfo:
        units_import(actor=platform_admin(), file=csv_file(["代码", "名称"], [["X1", "甲"]]))

    assert "parent_code（上级代码）" in excinfo.value.extra["file"][0]
    assert "rows" not in excinfo.value.extra
    assert not OrgUnit.objects.filter(code="X1").exists()


def test_a_file_above_the_size_limit_is_refused(world, settings):
    settings.IMPORT_MAX_BYTES = 100

    with pytest.raises(PayloadTooLarge):
        import_units([[f"X{i}", "甲", ""] for i in range(20)])

    assert not OrgUnit.objects.filter(code="X1").exists()


# Units: every error by row number, and nothing written ----------------------------------------------


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        ([["410102010099", "新社区", "999999999999", "", ""]], {2: "999999999999 is neither in this file"}),
        (
            [["410102010090", "甲", "410102010000", "", ""], ["410102010090", "乙", "410102010000", "", ""]],
            {3: "already appears on row 3"},
        ),
        ([["X1", "甲", "X2", "", ""], ["X2", "乙", "X1", "", ""]], {2: "cycle (X1 → X2 → X1)", 3: "cycle"}),
        ([["X1", "甲", "X1", "", ""]], {2: "cycle (X1 → X1)"}),
        ([["410102010000", "秦岭路街道", "410102010001", "", ""]], {2: "cycle"}),  # S1 under its own C1
        ([["410102010099", "", "410102010000", "", ""]], {2: "name is empty"}),
        ([["", "无代码社区", "410102010000", "", ""]], {2: "code is empty"}),
        ([["4101/0201", "甲", "410102010000", "", ""]], {2: "4101/0201 is not a valid code"}),
        ([["4.10102E+11", "甲", "410102010000", "", ""]], {2: "Excel turned into a number"}),
        ([["410102010099", "甲", "4101 02", "", ""]], {2: "Parent code: 4101 02 is not a valid code"}),
        ([["410102010099", "甲", "410102010000", "abc", ""]], {2: "Latitude abc is not a number"}),
        ([["410102010099", "甲", "410102010000", "113.6", "34.7"]], {2: "between -90 and 90"}),
        ([["410102010099", "甲", "410102010000", "", "181"]], {2: "between -180 and 180"}),
        ([["410102010099", "甲", "410102010001", "", ""]], {2: "below a community"}),  # under C1
        (
            [["410102002000", "建设路街道", "410102010000", "", ""]],
            {2: "its unit 410102002001 below community"},
        ),
        ([["410103000000", "二七区", "410102000000", "", ""]], {2: "a district cannot be moved"}),
        ([["410102010000", "秦岭路街道", "", "", ""]], {2: "cannot become a district"}),
    ],
    ids=[
        "unknown-parent",
        "duplicate-code",
        "cycle-in-file",
        "own-parent",
        "cycle-through-existing-units",
        "empty-name",
        "empty-code",
        "invalid-code",
        "code-mangled-by-excel",
        "invalid-parent-code",
        "latitude-not-a-number",
        "latitude-out-of-range",
        "longitude-out-of-range",
        "below-a-community",
        "move-drags-a-community-too-deep",
        "district-moved",
        "street-to-district",
    ],
)
def test_bad_rows_are_reported_by_number_and_nothing_is_written(world, rows, expected):
    before = snapshot()
    good = [["410102010077", "好社区", "410102010000", "", ""]]  # a good row first: it must not be written

    with pytest.raises(ValidationFailed) as excinfo:
        import_units(good + rows)

    errors = row_errors(excinfo)
    assert set(errors) == {row + 1 for row in expected}  # shifted by the good row
    for row, words in expected.items():
        assert words in errors[row + 1]
    assert snapshot() == before
    assert not OrgEvent.objects.filter(verb=OrgEvent.Verb.UNITS_IMPORTED).exists()


def test_every_bad_row_is_listed_at_once(world):
    with pytest.raises(ValidationFailed) as excinfo:
        import_units(
            [
                ["410102010080", "好社区", "410102010000", "", ""],
                ["410102010081", "", "410102010000", "", ""],
                ["410102010082", "甲", "NOPE", "", ""],
                ["410102010083", "乙", "410102010000", "", ""],
                ["410102010084", "丙", "410102010000", "95", ""],
            ]
        )

    assert excinfo.value.message.startswith("Nothing was imported: 3 rows have errors")
    assert [entry["row"] for entry in excinfo.value.extra["rows"]] == [3, 4, 6]
    assert [entry["code"] for entry in excinfo.value.extra["rows"]] == [
        "410102010081",
        "410102010082",
        "410102010084",
    ]
    assert not OrgUnit.objects.filter(code__in=["410102010080", "410102010083"]).exists()


# Units: access ---------------------------------------------------------------------------------------


def test_a_street_administrator_imports_within_the_street(world, people):
    result = import_units([["410102010003", "新社区", "410102010000", "", ""]], actor=people["street_admin"])

    assert result.created == 1
    assert tree_problems() == []


def test_a_street_administrator_cannot_add_under_another_street(world, people):
    with pytest.raises(ValidationFailed) as excinfo:
        import_units(
            [
                ["410102010003", "新社区", "410102010000", "", ""],
                ["410102002009", "越权社区", "410102002000", "", ""],  # under S2
            ],
            actor=people["street_admin"],
        )

    assert row_errors(excinfo) == {
        3: "The parent code 410102002000 is neither in this file nor an existing unit you manage."
    }
    assert not OrgUnit.objects.filter(code="410102010003").exists()


def test_an_out_of_scope_parent_reads_like_an_unknown_one(world, people):
    def error_for(parent_code: str) -> str:
        with pytest.raises(ValidationFailed) as excinfo:
            import_units([["410102010003", "新社区", parent_code, "", ""]], actor=people["street_admin"])
        return row_errors(excinfo)[2].replace(parent_code, "<parent>")

    assert error_for("410102002000") == error_for("410199999999")  # S2 exists; the other does not


def test_an_existing_code_outside_the_scope_is_reported_without_its_name(world, people):
    with pytest.raises(ValidationFailed) as excinfo:
        import_units(
            [["410102002001", "我的社区", "410102010000", "", ""]], actor=people["street_admin"]
        )  # C3

    assert "410102002001 is already used by another unit" in row_errors(excinfo)[2]
    assert "电新街社区" not in json.dumps(excinfo.value.extra, ensure_ascii=False)
    assert OrgUnit.objects.get(code="410102002001").parent_id == world["S2"].pk


def test_only_a_platform_administrator_creates_districts(world, people):
    with pytest.raises(ValidationFailed) as excinfo:
        import_units([["410199000000", "新区", "", "", ""]], actor=people["district_admin"])

    assert "Only a platform administrator" in row_errors(excinfo)[2]


def test_a_district_administrator_may_rename_the_own_district(world, people):
    result = import_units([["410102000000", "中原区（新）", "", "", ""]], actor=people["district_admin"])

    assert result.updated == 1
    assert OrgUnit.objects.get(code="410102000000").name == "中原区（新）"


@pytest.mark.parametrize("role", ["community_worker", "street_officer", "street_viewer"])
def test_people_without_an_administrator_role_cannot_import_units(world, people, role):
    with pytest.raises(Forbidden):
        import_units([["410102010003", "新社区", "410102010000", "", ""]], actor=people[role])


# Units: bounded queries ------------------------------------------------------------------------------


def unit_rows(streets: int, name: str = "社区") -> list[list[str]]:
    """`streets` new streets under district A with nine communities each: streets × 10 rows."""
    rows = []
    for s in range(streets):
        street = f"4101029{s:02d}000"
        rows.append([street, f"街道{s}", "410102000000", "", ""])
        rows.extend(
            [f"4101029{s:02d}{c:03d}", f"{name}{s}-{c}", street, "34.7", "113.6"] for c in range(1, 10)
        )
    return rows


@pytest.mark.parametrize("streets", [3, 30], ids=["30-rows", "300-rows"])
def test_unit_import_queries_do_not_grow_with_the_rows(world, people, django_assert_max_num_queries, streets):
    actor = people["district_admin"]
    rows = unit_rows(streets)

    with django_assert_max_num_queries(18):
        created = import_units(rows, actor=actor)
    with django_assert_max_num_queries(18):
        updated = import_units(unit_rows(streets, name="社区（改）"), actor=actor)

    assert (created.created, updated.updated) == (len(rows), len(rows) - streets)
    assert tree_problems() == []


# Units: API and command ------------------------------------------------------------------------------


def _named(content: bytes, name: str) -> io.BytesIO:
    buffer = io.BytesIO(content)
    buffer.name = name
    return buffer


def test_api_imports_units(api, world, people):
    login(api, people["district_admin"])
    content = csv_file(UNIT_HEADER, [["410102010003", "新社区", "410102010000", "", ""]])

    response = api.post(reverse("unit-import"), {"file": _named(content, "units.csv")}, format="multipart")

    assert response.status_code == 200, response.content
    assert response.json() == {"created": 1, "updated": 0, "unchanged": 0}
    assert OrgEvent.objects.get(verb=OrgEvent.Verb.UNITS_IMPORTED).data["filename"] == "units.csv"
    assert tree_problems() == []


def test_api_reports_rows_with_errors(api, world, people):
    login(api, people["district_admin"])
    content = csv_file(UNIT_HEADER, [["410102010003", "", "410102010000", "", ""]])

    response = api.post(reverse("unit-import"), {"file": _named(content, "u.csv")}, format="multipart")

    assert response.status_code == 400
    assert response.json()["errors"]["rows"][0]["row"] == 2
    assert response.json()["errors"]["rows"][0]["code"] == "410102010003"


def test_api_refuses_a_request_without_a_file(api, world, people):
    login(api, people["district_admin"])

    response = api.post(reverse("unit-import"), {}, format="multipart")

    assert response.status_code == 400
    assert "file" in response.json()["errors"]


def test_api_refuses_an_html_page_with_400(api, world, people):
    login(api, people["district_admin"])
    page = b"<!DOCTYPE html><html><head><title>404</title></head></html>"

    response = api.post(reverse("unit-import"), {"file": _named(page, "units.csv")}, format="multipart")

    assert response.status_code == 400
    assert response.json()["message"]


def test_api_forbids_a_worker(api, world, people):
    login(api, people["community_worker"])
    content = csv_file(UNIT_HEADER, [["410102010003", "新社区", "410102010000", "", ""]])

    response = api.post(reverse("unit-import"), {"file": _named(content, "u.csv")}, format="multipart")

    assert response.status_code == 403
    assert not OrgUnit.objects.filter(code="410102010003").exists()


def test_api_needs_a_login(api, world):
    response = api.post(reverse("unit-import"), {"file": _named(b"code,name,parent_code\n", "u.csv")})

    assert response.status_code in (401, 403)


def test_api_refuses_a_file_above_the_limit_with_413(api, world, people, settings):
    settings.IMPORT_MAX_BYTES = 50
    login(api, people["district_admin"])

    response = api.post(reverse("unit-import"), {"file": _named(b"x" * 51, "u.csv")}, format="multipart")

    assert response.status_code == 413


def test_command_imports_units_and_reports_counts(world, tmp_path):
    path = tmp_path / "units.csv"
    path.write_bytes(
        csv_file(UNIT_HEADER, [["410102010003", "新社区", "410102010000", "", ""]], encoding="gbk")
    )
    platform_admin()
    out = io.StringIO()

    call_command("import_units", str(path), stdout=out)

    assert "1 created, 0 updated, 0 unchanged" in out.getvalue()
    assert OrgUnit.objects.filter(code="410102010003").exists()


def test_command_prints_every_bad_row_and_fails(world, people, tmp_path):
    path = tmp_path / "units.csv"
    path.write_bytes(
        csv_file(
            UNIT_HEADER,
            [["410102010003", "", "410102010000", "", ""], ["410102002009", "甲", "410102002000", "", ""]],
        )
    )
    err = io.StringIO()

    with pytest.raises(CommandError):
        call_command("import_units", str(path), "--as", "street_admin", stderr=err)

    assert "row 2 (410102010003): The name is empty." in err.getvalue()
    assert "row 3 (410102002009)" in err.getvalue()
    assert not OrgUnit.objects.filter(code="410102010003").exists()


# People ----------------------------------------------------------------------------------------------


def import_people(rows: list[list], actor=None, header: list[str] = USER_HEADER) -> ImportResult:
    return users_import(actor=actor or platform_admin(), file=csv_file(header, rows), filename="people.csv")


def test_people_are_created_with_their_roles(world):
    result = import_people(
        [
            ["zhangsan", "张三", "13800000001", "410102010001", "工作人员"],
            ["lisi", "李四", "138 0000 0002", "410102010000", "专干"],
            ["wangwu", "王五", "", "410102000000", "管理员"],
        ]
    )

    assert result == ImportResult(created=3, updated=0, unchanged=0)
    zhang = User.objects.get(username="zhangsan")
    assert (zhang.real_name, zhang.mobile, zhang.has_usable_password()) == ("张三", "13800000001", False)
    assert User.objects.get(username="lisi").mobile == "13800000002"
    assert User.objects.get(username="wangwu").mobile is None
    assert set(
        Membership.objects.filter(user__username__in=["zhangsan", "lisi", "wangwu"]).values_list(
            "user__username", "unit__code", "role"
        )
    ) == {
        ("zhangsan", "410102010001", Role.WORKER),
        ("lisi", "410102010000", Role.OFFICER),
        ("wangwu", "410102000000", Role.ADMINISTRATOR),
    }
    event = OrgEvent.objects.get(verb=OrgEvent.Verb.USERS_IMPORTED)
    assert event.data["created"] == 3
    assert sorted(event.data["usernames"]) == ["lisi", "wangwu", "zhangsan"]


def test_a_password_column_sets_the_first_password(world):
    import_people(
        [["zhangsan", "张三", "13800000001", "410102010001", "worker", "Chuanxi#2026"]],
        header=[*USER_HEADER, "密码"],
    )

    assert User.objects.get(username="zhangsan").check_password("Chuanxi#2026")


@pytest.mark.parametrize(
    ("written", "role"),
    [
        ("管理员", Role.ADMINISTRATOR),
        ("administrator", Role.ADMINISTRATOR),
        ("专干", Role.OFFICER),
        ("干部", Role.OFFICER),
        ("Officer", Role.OFFICER),
        ("工作人员", Role.WORKER),
        ("查看", Role.VIEWER),
        ("viewer", Role.VIEWER),
    ],
)
def test_roles_are_accepted_in_english_and_chinese(world, written, role):
    import_people([["zhangsan", "张三", "13800000001", "410102010001", written]])

    assert Membership.objects.get(user__username="zhangsan").role == role


def test_importing_people_again_creates_nothing(world):
    rows = [
        ["zhangsan", "张三", "13800000001", "410102010001", "工作人员"],
        ["wangwu", "王五", "", "410102000000", "管理员"],
    ]
    import_people(rows)

    again = import_people(rows)

    assert again == ImportResult(created=0, updated=0, unchanged=2)
    assert User.objects.filter(username__in=["zhangsan", "wangwu"]).count() == 2
    assert Membership.objects.filter(user__username__in=["zhangsan", "wangwu"]).count() == 2


def test_an_existing_person_only_gains_the_missing_role(world):
    person = services.user_create(
        actor=platform_admin(),
        username="zhangsan",
        real_name="张三",
        mobile="13800000001",
        password=None,
        unit=world["C1"],
        role=Role.WORKER,
    )

    result = import_people([["zhangsan", "张三", "13800000001", "410102010002", "工作人员"]])  # also C2

    assert result == ImportResult(created=0, updated=1, unchanged=0)
    assert set(person.memberships.values_list("unit__code", flat=True)) == {"410102010001", "410102010002"}


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        ([["zhangsan", "张三", "13800000001", "999", "worker"]], {2: "Unknown unit code 999"}),
        ([["zhangsan", "张三", "1380000", "410102010001", "worker"]], {2: "not a mainland mobile number"}),
        ([["zhangsan", "", "13800000001", "410102010001", "worker"]], {2: "real name is empty"}),
        ([["", "张三", "13800000001", "410102010001", "worker"]], {2: "username is empty"}),
        ([["zhang san", "张三", "13800000001", "410102010001", "worker"]], {2: "may only hold letters"}),
        ([["zhangsan", "张三", "13800000001", "410102010001", "boss"]], {2: "Unknown role boss"}),
        (
            [
                ["zhangsan", "张三", "13800000001", "410102010001", "worker"],
                ["zhangsan", "张三", "13800000009", "410102010002", "worker"],
            ],
            {3: "zhangsan already appears on row 3"},
        ),
        (
            [
                ["zhangsan", "张三", "13800000001", "410102010001", "worker"],
                ["lisi", "李四", "13800000001", "410102010002", "worker"],
            ],
            {3: "13800000001 already appears on row 3"},
        ),
        ([["taken", "张三", "13800000001", "410102010001", "worker"]], {2: "taken is already taken"}),
        ([["zhangsan", "张三", "13900000009", "410102010001", "worker"]], {2: "already belongs to another"}),
    ],
    ids=[
        "unknown-unit",
        "bad-mobile",
        "empty-real-name",
        "empty-username",
        "bad-username",
        "unknown-role",
        "duplicate-username",
        "duplicate-mobile",
        "username-of-another-account",
        "mobile-of-another-account",
    ],
)
def test_bad_people_rows_are_reported_by_number_and_nothing_is_written(world, rows, expected):
    services.user_create(
        actor=platform_admin(),
        username="taken",
        real_name="另一个人",
        mobile="13900000009",
        password=None,
        unit=world["C3"],
        role=Role.WORKER,
    )
    users_before = User.objects.count()
    good = [["goodone", "好人", "13700000001", "410102010001", "worker"]]

    with pytest.raises(ValidationFailed) as excinfo:
        import_people(good + rows)

    errors = row_errors(excinfo)
    assert set(errors) == {row + 1 for row in expected}
    for row, words in expected.items():
        assert words in errors[row + 1]
    assert User.objects.count() == users_before
    assert not OrgEvent.objects.filter(verb=OrgEvent.Verb.USERS_IMPORTED).exists()


def test_a_weak_password_is_a_row_error(world):
    with pytest.raises(ValidationFailed) as excinfo:
        import_people(
            [["zhangsan", "张三", "13800000001", "410102010001", "worker", "123"]],
            header=[*USER_HEADER, "password"],
        )

    assert "Password:" in row_errors(excinfo)[2]
    assert "123" not in json.dumps(excinfo.value.extra).replace("13800000001", "")


def test_a_unit_outside_the_scope_reads_like_an_unknown_unit(world, people):
    def error_for(unit_code: str) -> str:
        with pytest.raises(ValidationFailed) as excinfo:
            import_people(
                [["zhangsan", "张三", "13800000001", unit_code, "worker"]], actor=people["street_admin"]
            )
        return row_errors(excinfo)[2].replace(unit_code, "<unit>")

    assert error_for("410102002001") == error_for("410199999999")  # C3 exists, outside S1; the other does not
    assert not User.objects.filter(username="zhangsan").exists()


def test_a_street_administrator_onboards_people_of_the_street(world, people):
    result = import_people(
        [["zhangsan", "张三", "13800000001", "410102010001", "worker"]], actor=people["street_admin"]
    )

    assert result.created == 1


def test_people_without_an_administrator_role_cannot_import_people(world, people):
    with pytest.raises(Forbidden):
        import_people(
            [["zhangsan", "张三", "13800000001", "410102010001", "worker"]], actor=people["street_officer"]
        )


def test_people_from_an_xlsx_with_numeric_mobiles(world):
    content = xlsx_file(
        ["用户名", "姓名", "手机号", "单位代码", "角色"],
        [["zhangsan", "张三", 13800000001, 410102010001, "工作人员"]],
    )

    result = users_import(actor=platform_admin(), file=content)

    assert result.created == 1
    assert User.objects.get(username="zhangsan").mobile == "13800000001"


def people_rows(count: int) -> list[list[str]]:
    units = ["410102010001", "410102010002", "410102002001", "410102010000"]
    return [[f"p{i:04d}", f"人员{i}", f"137{i:08d}", units[i % len(units)], "worker"] for i in range(count)]


@pytest.mark.parametrize("count", [20, 200])
def test_people_import_queries_do_not_grow_with_the_rows(world, people, django_assert_max_num_queries, count):
    with django_assert_max_num_queries(14):
        result = import_people(people_rows(count), actor=people["district_admin"])
    with django_assert_max_num_queries(14):
        again = import_people(people_rows(count), actor=people["district_admin"])

    assert (result.created, again.unchanged) == (count, count)


def test_api_imports_people(api, world, people):
    login(api, people["district_admin"])
    content = csv_file(USER_HEADER, [["zhangsan", "张三", "13800000001", "410102010001", "工作人员"]])

    response = api.post(reverse("user-import"), {"file": _named(content, "p.csv")}, format="multipart")

    assert response.status_code == 200, response.content
    assert response.json() == {"created": 1, "updated": 0, "unchanged": 0}


def test_api_forbids_a_worker_to_import_people(api, world, people):
    login(api, people["community_worker"])
    content = csv_file(USER_HEADER, [["zhangsan", "张三", "13800000001", "410102010001", "工作人员"]])

    response = api.post(reverse("user-import"), {"file": _named(content, "p.csv")}, format="multipart")

    assert response.status_code == 403
    assert not User.objects.filter(username="zhangsan").exists()


def test_command_imports_people(world, people, tmp_path):
    path = tmp_path / "people.csv"
    path.write_bytes(csv_file(USER_HEADER, [["zhangsan", "张三", "13800000001", "410102010001", "工作人员"]]))
    out = io.StringIO()

    call_command("import_users", str(path), "--as", "street_admin", stdout=out)

    assert "1 created" in out.getvalue()
    assert Membership.objects.filter(user__username="zhangsan", unit=world["C1"]).exists()


# The access matrix for both endpoints: role × unit, expectations written out by hand ---------------

MANAGED = {
    "district_admin": {"A", "S1", "S2", "C1", "C2", "C3"},
    "street_admin": {"S1", "C1", "C2"},
    "other_admin": {"B", "T1", "D1"},
}
ROLES = [
    "district_admin",
    "district_officer",
    "street_admin",
    "street_officer",
    "street_viewer",
    "community_worker",
    "other_admin",
]


def _expected(role: str, unit: str) -> int:
    if role not in MANAGED:
        return 403
    return 200 if unit in MANAGED[role] else 400


@pytest.mark.parametrize(("role", "unit"), [(r, u) for r in ROLES for u in ["A", "S1", "S2", "B", "T1"]])
def test_unit_import_matrix(api, world, people, role, unit):
    login(api, people[role])
    content = csv_file(UNIT_HEADER, [["NEW001", "新单位", world[unit].code, "", ""]])

    response = api.post(reverse("unit-import"), {"file": _named(content, "u.csv")}, format="multipart")

    assert response.status_code == _expected(role, unit), response.json()
    assert OrgUnit.objects.filter(code="NEW001").exists() == (response.status_code == 200)
    if response.status_code == 400:
        assert response.json()["errors"]["rows"][0]["row"] == 2
        assert world[unit].name not in response.content.decode()


@pytest.mark.parametrize(
    ("role", "unit"), [(r, u) for r in ROLES for u in ["A", "S1", "S2", "C1", "C3", "B", "D1"]]
)
def test_user_import_matrix(api, world, people, role, unit):
    login(api, people[role])
    content = csv_file(USER_HEADER, [["newcomer", "新人", "13800000001", world[unit].code, "worker"]])

    response = api.post(reverse("user-import"), {"file": _named(content, "p.csv")}, format="multipart")

    assert response.status_code == _expected(role, unit), response.json()
    assert User.objects.filter(username="newcomer").exists() == (response.status_code == 200)
    if response.status_code == 400:
        assert response.json()["errors"]["rows"][0]["row"] == 2
        assert world[unit].name not in response.content.decode()


@pytest.mark.django_db
def test_an_account_of_another_district_cannot_be_pulled_in_by_name(api, world, people):
    """Same username and real name, no mobile: still not proof that the importer may manage them."""
    outsider = people["other_admin"]  # administrator of district B
    with pytest.raises(ValidationFailed) as excinfo:
        import_people(
            [[outsider.username, outsider.real_name, "", world["C1"].code, "viewer"]],
            actor=people["street_admin"],
        )
    assert "already taken" in row_errors(excinfo)[2]
    assert not Membership.objects.filter(user=outsider, unit=world["C1"]).exists()
    login(api, people["street_admin"])
    assert api.get(f"/api/v1/users/{outsider.pk}/").status_code == 404


@pytest.mark.django_db
def test_seeing_a_person_is_not_managing_them(api, world, people):
    """An administrator of S1 who is also an inspector of district B sees B's people but cannot recruit them."""
    street_admin = people["street_admin"]
    services.membership_create(actor=platform_admin(), user=street_admin, unit=world["B"], role=Role.VIEWER)
    login(api, street_admin)
    outsider = people["other_admin"]
    assert api.get(f"/api/v1/users/{outsider.pk}/").status_code == 200
    response = api.post(
        "/api/v1/memberships/", {"user": outsider.pk, "unit": world["C1"].pk, "role": "worker"}, format="json"
    )
    assert response.status_code == 403
    assert not Membership.objects.filter(user=outsider, unit=world["C1"]).exists()


@pytest.mark.django_db
def test_uploads_are_refused_before_the_body_is_read(api, world, people, monkeypatch, settings):
    """No role, or a declared length over the limit: answered without parsing (spooling) the upload."""
    from rest_framework.request import Request

    def parse_fails(self):
        raise AssertionError("the body was parsed")

    content = csv_file(USER_HEADER, [["x1", "某人", "", world["C1"].code, "worker"]])
    monkeypatch.setattr(Request, "_load_data_and_files", parse_fails)
    login(api, people["community_worker"])
    for url in ("/api/v1/units/import/", "/api/v1/users/import/"):
        refused = api.post(url, {"file": io.BytesIO(content)}, format="multipart")
        assert refused.status_code == 403
    settings.IMPORT_MAX_BYTES = 1024
    login(api, people["district_admin"])
    big = io.BytesIO(b"code,name,parent_code\n" + b"x" * 200_000)
    big.name = "big.csv"
    assert api.post("/api/v1/units/import/", {"file": big}, format="multipart").status_code == 413
