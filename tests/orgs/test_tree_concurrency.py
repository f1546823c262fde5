"""Concurrent writes to the nested-set tree on the real PostgreSQL: the advisory locks keep it whole."""

import threading

import pytest
from django.db import connection

from orgs import services
from orgs.imports import units_import
from orgs.models import OrgUnit
from orgs.tree import tree_problems
from tests.factories import make_unit, platform_admin

pytestmark = pytest.mark.django_db(transaction=True)


def run_together(workers: list) -> list[BaseException]:
    """Start every worker at the same moment; each closes its own connection. Returns their errors."""
    barrier = threading.Barrier(len(workers))
    errors: list[BaseException] = []

    def run(work):
        try:
            barrier.wait(timeout=30)
            work()
        except BaseException as exc:  # reported by the test, not lost in the thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(work,)) for work in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a worker hung"
    return errors


def test_concurrent_communities_and_districts_keep_the_tree_whole():
    admin = platform_admin()
    district = make_unit(name="并发区", code="CC0")
    streets = [make_unit(district, name=f"街道{s}", code=f"CC{s}") for s in range(1, 4)]

    def add_communities(thread: int):
        def work():
            for n in range(4):
                street = OrgUnit.objects.get(pk=streets[(thread + n) % len(streets)].pk)
                services.unit_create(
                    actor=admin, parent=street, name=f"社区{thread}-{n}", code=f"CC-T{thread}-{n}"
                )

        return work

    def add_district(thread: int):
        def work():
            services.unit_create(actor=admin, parent=None, name=f"新区{thread}", code=f"CD{thread}")

        return work

    errors = run_together([add_communities(t) for t in range(8)] + [add_district(t) for t in range(6)])

    assert errors == []
    assert tree_problems() == []
    assert OrgUnit.objects.filter(code__startswith="CC-T").count() == 8 * 4
    assert OrgUnit.objects.get(code="CC0").get_descendant_count() == 3 + 8 * 4
    new_trees = list(OrgUnit.objects.filter(code__startswith="CD").values_list("tree_id", flat=True))
    assert len(new_trees) == 6
    assert len(set(new_trees)) == 6
    assert district.tree_id not in new_trees


def test_imports_and_single_writes_at_once_keep_the_tree_whole():
    admin = platform_admin()
    district = make_unit(name="并发区", code="CC0")
    street = make_unit(district, name="街道", code="CC1")

    def import_file(thread: int):
        def work():
            rows = [f"CI{thread}-S,导入街道{thread},CC0"] + [
                f"CI{thread}-{c},导入社区{thread}-{c},CI{thread}-S" for c in range(20)
            ]
            rows.append(f"CI{thread}-D,导入新区{thread},")
            content = ("code,name,parent_code\n" + "\n".join(rows)).encode()
            units_import(actor=admin, file=content)

        return work

    def add_community(thread: int):
        def work():
            fresh = OrgUnit.objects.get(pk=street.pk)
            services.unit_create(actor=admin, parent=fresh, name=f"社区{thread}", code=f"CC-T{thread}")

        return work

    def add_district(thread: int):
        def work():
            services.unit_create(actor=admin, parent=None, name=f"新区{thread}", code=f"CD{thread}")

        return work

    errors = run_together(
        [import_file(t) for t in range(3)]
        + [add_community(t) for t in range(4)]
        + [add_district(t) for t in range(3)]
    )

    assert errors == []
    assert tree_problems() == []
    assert OrgUnit.objects.filter(code__startswith="CI").count() == 3 * 22
    assert OrgUnit.objects.get(code="CC0").get_descendant_count() == 1 + 4 + 3 * 21
    roots = list(OrgUnit.objects.filter(parent=None).values_list("tree_id", flat=True))
    assert len(roots) == len(set(roots)) == 1 + 3 + 3
