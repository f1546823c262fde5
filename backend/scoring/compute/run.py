"""`refresh(scope)`, the one entry point: the district locks it takes, the order of its steps, and
what only full runs do: remove the rows nothing feeds any more, fill empty tables without their
ranking indexes (built after), and log where the time went."""

import logging
import time
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from scoring.compute.figures import _seed_all_stats, _seed_stats, _stats_level
from scoring.compute.lines import _delete_stale_lines, _upsert_lines
from scoring.compute.scores import (
    _add_ancestors,
    _create_targets,
    _drop_targets,
    _score_level,
    _seed_from_lines,
    _seed_unit_periods,
)
from scoring.compute.sql import (
    LINES,
    SCORES,
    SCORING_LOCK,
    STAT_TARGETS,
    STATS,
    TARGETS,
    A,
    Scope,
    U,
    _closed_period,
    _stop_sql,
)

# The name the full runs' step timings have always been logged under (docs/benchmarks.md quotes it).
logger = logging.getLogger("scoring.compute")


# Locks ---------------------------------------------------------------------------------------------


def _lock_trees(cursor, tree_ids: Iterable[int]) -> None:
    for tree_id in sorted(set(tree_ids)):
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [SCORING_LOCK, tree_id])


def _trees_of(cursor, scope: Scope, extra_units: Sequence[int] = ()) -> list[int]:
    if scope.full and scope.district_id is None:
        cursor.execute(f"SELECT tree_id FROM {U} WHERE lft = 1")  # noqa: S608
        return [row[0] for row in cursor.fetchall()]
    cursor.execute(
        f"SELECT u.tree_id FROM {A} a JOIN {U} u ON u.id = a.unit_id WHERE {scope.assignments} "  # noqa: S608
        f"UNION SELECT u.tree_id FROM {LINES} l JOIN {U} u ON u.id IN (l.unit_id, l.district_id) WHERE {scope.lines} "
        f"UNION SELECT tree_id FROM {U} WHERE id = ANY(%s)",
        [*scope.assignment_params, *scope.line_params, list(extra_units)],
    )
    return [row[0] for row in cursor.fetchall()]


# Full runs: remove what nothing feeds any more ------------------------------------------------------


def _remove_unfed(cursor, scope: Scope, *, scores: bool = True, figures: bool = True) -> None:
    """Period rows and monthly figures of the scope that no target was computed for this time
    (only periods wholly inside the scope's months: a year reaching outside them is a target
    whenever one of its lines in the scope changed)."""
    where: list[str] = ["TRUE"]
    stat_where: list[str] = ["TRUE"]
    params: list[Any] = []
    stat_params: list[Any] = []
    if scope.district_id is not None:
        where.append("p.district_id = %s")
        params.append(scope.district_id)
        stat_where.append("m.district_id = %s")
        stat_params.append(scope.district_id)
    if scope.since is not None:
        where.append("p.start >= %s")
        params.append(scope.since)
        stat_where.append("m.month >= %s")
        stat_params.append(scope.since)
    if scope.until is not None:
        where.append(f"{_stop_sql('p.kind', 'p.start')} <= %s")
        params.append(scope.until)
        stat_where.append("m.month < %s")
        stat_params.append(scope.until)
    if scores:
        cursor.execute(
            f"DELETE FROM {SCORES} p WHERE {' AND '.join(where)} "  # noqa: S608
            f"AND NOT {_closed_period('p.district_id', 'p.start', _stop_sql('p.kind', 'p.start'))} "
            f"AND NOT EXISTS (SELECT 1 FROM {TARGETS} t WHERE t.unit_id = p.unit_id AND t.kind = p.kind AND t.start = p.start)",
            params,
        )
    if figures:
        cursor.execute(
            f"DELETE FROM {STATS} m WHERE {' AND '.join(stat_where)} "  # noqa: S608
            f"AND NOT EXISTS (SELECT 1 FROM {STAT_TARGETS} t WHERE t.unit_id = m.unit_id AND t.month = m.month)",
            stat_params,
        )


# Filling empty tables ------------------------------------------------------------------------------


def _is_empty(cursor, table: str) -> bool:
    cursor.execute(f"SELECT NOT EXISTS (SELECT 1 FROM {table})")  # noqa: S608
    return cursor.fetchone()[0]


def _owned(cursor, table: str) -> bool:
    """Whether this connection's role may drop and create `table`'s indexes (it owns the table, as
    the role that ran the migrations does; a deployment may read and write with a lesser one)."""
    cursor.execute(
        "SELECT pg_has_role(current_user, relowner, 'USAGE') FROM pg_class WHERE oid = %s::regclass", [table]
    )
    return cursor.fetchone()[0]


def _drop_secondary_indexes(cursor, table: str) -> list[str]:
    """Drop the indexes of `table` that back no constraint and return their definitions.

    Filling an empty table (a first run, or after the scores were emptied) writes a million rows:
    inserting each into two ranking indexes costs more than building the indexes afterwards, sorted,
    in one pass each (PostgreSQL's "Populating a Database"). The drop holds the table's exclusive
    lock until the run commits, so readers wait for the run instead of seeing an empty ranking."""
    cursor.execute(
        "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i "
        "WHERE i.indrelid = %s::regclass "
        "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)",
        [table],
    )
    indexes = cursor.fetchall()
    for name, _definition in indexes:
        cursor.execute(f"DROP INDEX {name}")
    return [definition for _name, definition in indexes]


# The one entry point ------------------------------------------------------------------------------


class _Steps:
    """Durations of a full run's steps, logged (the nightly job's log says where the time went)."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self.last = time.monotonic()
        self.spent: list[str] = []

    def __call__(self, name: str) -> None:
        if self.enabled:
            now = time.monotonic()
            self.spent.append(f"{name} {now - self.last:.1f} s")
            self.last = now

    def log(self) -> None:
        if self.enabled:
            logger.info("Scoring recomputed: %s", ", ".join(self.spent))


def refresh(
    scope: Scope,
    *,
    now: datetime | None = None,
    moved_units: Sequence[int] = (),
    former_parents: Sequence[int] = (),
) -> None:
    """Recompute the score lines of `scope` and every period score and monthly figure they feed.

    `moved_units` / `former_parents` (a unit move): the moved units' rows and their former parents'
    chains are recomputed for every period in which the moved units have figures.
    """
    now = now or timezone.now()
    step = _Steps(scope.full)
    everything = scope.full and scope.district_id is None and scope.since is None and scope.until is None
    with transaction.atomic(), connection.cursor() as cursor:
        if scope.full:
            # Sorts and hashes of a million rows in memory rather than in temporary files.
            cursor.execute("SET LOCAL work_mem = '256MB'")
        _lock_trees(cursor, _trees_of(cursor, scope, [*moved_units, *former_parents]))
        # A run of everything into empty tables: nothing can be unfed, and the period scores are
        # written without their ranking indexes, which are built after.
        scores_empty = everything and _is_empty(cursor, SCORES)
        figures_empty = everything and _is_empty(cursor, STATS)
        _create_targets(cursor)
        if not (scope.full and scope.since is None and scope.until is None):
            # Where the lines counted before (a full run of everything removes unfed rows instead).
            _seed_from_lines(cursor, scope)
        if moved_units:
            _seed_unit_periods(cursor, [*moved_units, *former_parents], moved_units)
        step("targets before")
        _delete_stale_lines(cursor, scope)
        step("stale lines")
        _upsert_lines(cursor, scope, now)
        step("lines")
        _seed_from_lines(cursor, scope)  # where they count now
        _add_ancestors(cursor, TARGETS, "kind, start, stop")
        cursor.execute(f"ANALYZE {TARGETS}")  # temporary tables are never analysed on their own
        step("targets")
        # In a run of everything the deepest level's targets are every unit that has lines (most
        # of them); the levels above are a few units each, looked up by index.
        levels = _levels(cursor, TARGETS)
        rebuild = _drop_secondary_indexes(cursor, SCORES) if scores_empty and _owned(cursor, SCORES) else []
        for level in levels:
            _score_level(cursor, level, every_unit=everything and level == levels[0])
            step(f"scores of level {level}")
        if rebuild:
            cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
            for definition in rebuild:
                cursor.execute(definition)
            step("ranking indexes")
        if scope.full:
            _seed_all_stats(cursor, scope)
        else:
            _seed_stats(cursor, scope)
        _add_ancestors(cursor, STAT_TARGETS, "month")
        cursor.execute(f"ANALYZE {STAT_TARGETS}")
        step("figure targets")
        levels = _levels(cursor, STAT_TARGETS)
        for level in levels:
            _stats_level(cursor, level, every_unit=everything and level == levels[0])
            step(f"figures of level {level}")
        if scope.full:
            _remove_unfed(cursor, scope, scores=not scores_empty, figures=not figures_empty)
            step("unfed rows")
        _drop_targets(cursor)
    step.log()


def _levels(cursor, table: str) -> list[int]:
    cursor.execute(f"SELECT COALESCE(MAX(level), -1) FROM {table}")  # noqa: S608
    return list(range(cursor.fetchone()[0], -1, -1))
