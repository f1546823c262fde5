"""Figures rolled up the tree: for each unit of a window, aggregates over everything in its subtree.

One statement whatever the size: each unit of the window joins the units of its own lft/rght range,
and those join the rows being counted through an index on their unit. Task progress uses it for
assignments; scoring and work statistics use it for their own rows.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection

from orgs.models import OrgUnit


@dataclass(frozen=True)
class Aggregate:
    """`sql` over the joined rows `r` (e.g. "COUNT(r.id) FILTER (WHERE r.status = %s)"), named `name`."""

    name: str
    sql: str
    params: Sequence[Any] = ()


def subtree_rollup(
    *,
    root: OrgUnit,
    depth: int,
    rows_sql: str,
    rows_params: Sequence[Any],
    aggregates: Sequence[Aggregate],
) -> list[dict[str, Any]]:
    """Per unit of `root`'s subtree down to `depth` levels below it, in tree order: id, name, code,
    level, parent_id and each aggregate over the rows of `rows_sql` whose `unit_id` lies in the unit's
    own subtree (the unit itself included).

    `rows_sql` is a SELECT with a `unit_id` column (e.g. the assignments of one task); the caller's
    aggregates read its columns through the alias `r`.
    """
    units = OrgUnit._meta.db_table
    selected = ", ".join(f"{aggregate.sql} AS {aggregate.name}" for aggregate in aggregates)
    sql = (
        f"SELECT u.id, u.name, u.code, u.level, u.parent_id, {selected} "  # noqa: S608
        f"FROM {units} u "
        f"LEFT JOIN {units} d ON d.tree_id = u.tree_id AND d.lft >= u.lft AND d.lft < u.rght "
        f"LEFT JOIN ({rows_sql}) r ON r.unit_id = d.id "
        f"WHERE u.tree_id = %s AND u.lft >= %s AND u.rght <= %s AND u.level <= %s "
        f"GROUP BY u.id, u.name, u.code, u.level, u.parent_id, u.lft ORDER BY u.lft"
    )
    params = [
        *(param for aggregate in aggregates for param in aggregate.params),
        *rows_params,
        root.tree_id,
        root.lft,
        root.rght,
        root.level + depth,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        columns = [column[0] for column in cursor.description]
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
