"""The inbox's page, read by hand (GET /api/v1/assignments/; tasks.selectors.assignment_scope chooses
its rows, with the access rule).

The most read list of the service: the ORM's compiler and prefetch machinery cost it more than its
statements did, so its count and page are read here in written-out statements and linked as model
objects (docs/architecture.md, "Set-based work"; docs/benchmarks.md, "The inbox").
"""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import QuerySet

from orgs.models import OrgUnit
from orgs.scope import Action, Grants
from tasks.models import Assignment, PracticeTask, Submission, TaskCategory

Status = Assignment.Status


class _Columns:
    """One model's columns in a hand-written statement: the SELECT list under `alias`, and the
    objects built from a row's slice as the ORM builds them (`Model.from_db`, the fields' own
    conversions from the database). `only`: the fields read, as with `QuerySet.only()`; the others
    are deferred (reading one would cost a query)."""

    def __init__(self, model: Any, alias: str, *, only: tuple[str, ...] | None = None):
        fields = [field for field in model._meta.concrete_fields if only is None or field.name in only]
        self.model = model
        self.names = [field.attname for field in fields]
        self.sql = ", ".join(f'{alias}."{field.column}"' for field in fields)
        self.width = len(fields)
        self.converters = [(at, field) for at, field in enumerate(fields) if hasattr(field, "from_db_value")]

    def build(self, values: Any, db: Any) -> Any:
        """`db`: the connection the values came from (not the `connection` proxy, which costs a
        lookup of the current thread's connections on every use)."""
        if self.converters:
            values = list(values)
            for at, field in self.converters:
                values[at] = field.from_db_value(values[at], None, db)
        return self.model.from_db(db.alias, self.names, values)


# What the inbox shows and its policies read (tasks.policies): a unit's brief and its place in the
# tree, the delegating assignment's unit, the task's brief, state and evidence requirements.
_UNIT_FIELDS = ("id", "name", "code", "parent", "tree_id", "lft", "rght", "level")
_A = _Columns(Assignment, "a")
_U = _Columns(OrgUnit, "u", only=_UNIT_FIELDS)
_P = _Columns(Assignment, "p", only=("id", "unit"))
_PU = _Columns(OrgUnit, "pu", only=_UNIT_FIELDS)
_T = _Columns(
    PracticeTask,
    "t",
    only=("id", "title", "category", "issuer_unit", "points", "status", "due_at", "evidence_requirements"),
)
_C = _Columns(TaskCategory, "c", only=("id", "name"))
_IU = _Columns(OrgUnit, "iu", only=_UNIT_FIELDS)
_SUBMITTER = ["id", "submitted_by_id"]

_ASSIGNMENT = Assignment._meta.db_table
_UNIT = OrgUnit._meta.db_table
_PAGE_SQL = (
    f"SELECT {_A.sql}, {_U.sql}, {_P.sql}, {_PU.sql}, "  # noqa: S608 - names from the models
    f"(SELECT s.submitted_by_id FROM {Submission._meta.db_table} s WHERE s.id = a.current_submission_id), "
    f"(SELECT COUNT(*) FROM {_ASSIGNMENT} c WHERE c.parent_id = a.id), "
    f"(SELECT COUNT(*) FROM {_ASSIGNMENT} c WHERE c.parent_id = a.id AND c.status = %s), page.total "
    f"FROM ({{page}}) page JOIN {_ASSIGNMENT} a ON a.id = page.id "
    f"JOIN {_UNIT} u ON u.id = a.unit_id "
    f"LEFT JOIN {_ASSIGNMENT} p ON p.id = a.parent_id LEFT JOIN {_UNIT} pu ON pu.id = p.unit_id "
    f"ORDER BY a.due_at, a.id"
)
_TASKS_SQL = (
    f"SELECT {_T.sql}, {_C.sql}, {_IU.sql} FROM {PracticeTask._meta.db_table} t "  # noqa: S608
    f"JOIN {TaskCategory._meta.db_table} c ON c.id = t.category_id JOIN {_UNIT} iu ON iu.id = t.issuer_unit_id "
    f"WHERE t.id = ANY(%s)"
)


class AssignmentRows:
    """The inbox's rows as Django's Paginator reads a list: `count()`, and a page by slicing.

    `queryset` chooses the rows (the reader's scope and the filters; tasks.apis); a page is read in
    two statements whatever its length: the page's assignments with their units, the delegating
    assignment and its unit, who made the current report and the delegated children's counts (joins
    on primary keys and scalar subqueries, planned in a fraction of a millisecond), then the page's
    tasks with their categories and issuing units. The rows are the model objects, linked as
    `select_related` would link them, so tasks.policies answer `actions` from them as from any read.
    Written by hand because the ORM's compiler and prefetch machinery cost the inbox more than its
    statements did (docs/benchmarks.md, "The inbox").

    `narrow`: every membership of the reader sits below a district (a street, a community), so their
    rows are a small part of the table, which the page's statement finds by their units and sorts by
    due time; told which page is coming (`expect`, from common.pagination.WindowPaginator), it counts
    them in the same statement, one statement fewer. A district's reader's page walks the due time
    index and stops after its rows, where counting them all in that statement would read the whole
    district: their count stays a statement of its own.
    """

    ordered = True  # soonest due first (the Paginator warns about unordered lists)

    def __init__(self, queryset: QuerySet[Assignment], grants: Grants):
        self.queryset = queryset
        self.narrow = grants.below_the_top(Action.VIEW)
        self._chosen: tuple[str, tuple] | None = None
        self._expected: tuple[int, int] | None = None
        self._read: tuple[int, int, list[Assignment]] | None = None  # read with the count: start, stop, rows
        self._total: int | None = None

    def _rows_chosen(self) -> tuple[str, tuple] | None:
        """The queryset as SQL, compiled once for the count and the page: the ids and due times of
        its rows (None when it can hold none: someone with no membership). PostgreSQL flattens it
        into either statement, so the page still walks the due time index and stops after its rows."""
        if self._chosen is None:
            try:
                self._chosen = self.queryset.order_by().values("id", "due_at").query.sql_with_params()
            except EmptyResultSet:
                return None
        return self._chosen

    def expect(self, start: int, stop: int) -> None:
        """The page the paginator will ask for next (see `narrow`)."""
        self._expected = (start, stop)

    def count(self) -> int:
        if self._total is None and self.narrow and self._expected is not None:
            start, stop = self._expected
            rows, total = self._page(start, stop, with_total=True)
            if rows:  # past the end there is no row to carry the count
                self._read, self._total = (start, stop, rows), total
        if self._total is None:
            self._total = self._count()
        return self._total

    def _count(self) -> int:
        chosen = self._rows_chosen()
        if chosen is None:
            return 0
        with connections[self.queryset.db].cursor() as cursor:
            cursor.execute(f"SELECT COUNT(*) FROM ({chosen[0]}) chosen", chosen[1])  # noqa: S608 - the ORM's SQL
            return cursor.fetchone()[0]

    def statement(
        self, start: int, stop: int | None, *, with_total: bool = False
    ) -> tuple[str, list[Any]] | None:
        """The page's statement (its tasks come in a second one): the rows `start` to `stop`, and
        with `with_total` the number of all the rows in each."""
        chosen = self._rows_chosen()
        if chosen is None:
            return None
        total = "COUNT(*) OVER ()" if with_total else "NULL::bigint"
        page = (
            f"SELECT chosen.id, {total} AS total FROM ({chosen[0]}) chosen ORDER BY chosen.due_at, chosen.id"  # noqa: S608
        )
        page += " OFFSET %s" if stop is None else " LIMIT %s OFFSET %s"
        return (
            _PAGE_SQL.format(page=page),
            [Status.APPROVED, *chosen[1], *([] if stop is None else [stop - start]), start],
        )

    def __getitem__(self, window: slice) -> list[Assignment]:
        start, stop = window.start or 0, window.stop
        if self._read is not None and self._read[0] == start and stop is not None and stop <= self._read[1]:
            # The expected page, read with the count (the paginator cuts it at the last row).
            return self._read[2]
        return self._page(start, stop)[0]

    def _page(
        self, start: int, stop: int | None, *, with_total: bool = False
    ) -> tuple[list[Assignment], int | None]:
        statement = self.statement(start, stop, with_total=with_total)
        if statement is None:
            return [], 0
        db = connections[self.queryset.db]
        with _rows_cursor(db) as cursor:
            cursor.execute(*statement)
            rows = cursor.fetchall()
        return self._link(rows, db), (rows[0][-1] if rows else None)

    def _link(self, rows: list[tuple], db: Any) -> list[Assignment]:
        u_at = _A.width
        p_at = u_at + _U.width
        pu_at = p_at + _P.width
        extra_at = pu_at + _PU.width
        assignments = []
        parents: dict[int, Assignment] = {}  # a street's communities share their delegating assignment
        for row in rows:
            assignment = _A.build(row[:u_at], db)
            _cache(Assignment.unit, assignment, _U.build(row[u_at:p_at], db))
            parent = None
            if assignment.parent_id is not None:
                parent = parents.get(assignment.parent_id)
                if parent is None:
                    parent = parents[assignment.parent_id] = _P.build(row[p_at:pu_at], db)
                    _cache(Assignment.unit, parent, _PU.build(row[pu_at:extra_at], db))
            _cache(Assignment.parent, assignment, parent)
            submitter, total, approved, _all = row[extra_at:]
            submission = None
            if assignment.current_submission_id is not None:
                submission = Submission.from_db(
                    db.alias, _SUBMITTER, (assignment.current_submission_id, submitter)
                )
            _cache(Assignment.current_submission, assignment, submission)
            assignment.children_total = total  # type: ignore[attr-defined]  # as assignment_list annotates
            assignment.children_approved = approved  # type: ignore[attr-defined]
            assignments.append(assignment)
        tasks = self._tasks({assignment.task_id for assignment in assignments}, db)
        for assignment in assignments:
            _cache(Assignment.task, assignment, tasks[assignment.task_id])
        return assignments

    @staticmethod
    def _tasks(ids: set[int], db: Any) -> dict[int, PracticeTask]:
        if not ids:
            return {}
        with _rows_cursor(db) as cursor:
            cursor.execute(_TASKS_SQL, [sorted(ids)])
            rows = cursor.fetchall()
        c_at = _T.width
        iu_at = c_at + _C.width
        tasks = {}
        for row in rows:
            task = _T.build(row[:c_at], db)
            _cache(PracticeTask.category, task, _C.build(row[c_at:iu_at], db))
            _cache(PracticeTask.issuer_unit, task, _IU.build(row[iu_at:], db))
            tasks[task.pk] = task
        return tasks


# psycopg's own timestamptz parser (C). Django registers a Python subclass of it on every connection
# to pin the zone the session already has (UTC): on the inbox's page that parsing cost half a
# millisecond; both give the same aware datetimes in UTC (the rows test compares them).
_TIMESTAMPTZ = psycopg.adapters.get_loader(psycopg.adapters.types["timestamptz"].oid, psycopg.pq.Format.TEXT)


@contextmanager
def _rows_cursor(db: Any) -> Iterator[Any]:
    with db.cursor() as cursor:
        cursor.cursor.adapters.register_loader("timestamptz", _TIMESTAMPTZ)
        yield cursor


def _cache(descriptor: Any, instance: Any, related: Any) -> None:
    """What `select_related` leaves on an object: the related object, read without a query."""
    descriptor.field.set_cached_value(instance, related)
