"""Safe writes to the nested-set tree.

django-mptt has no locking of its own: two inserts into one tree at once can hand out the same
lft/rght, and two new roots at once can share a tree_id. Every tree write therefore runs inside a
transaction that first takes a PostgreSQL advisory lock per touched tree (and one lock for handing
out new tree ids).

Bulk paths (imports) write rows without per-row renumbering and then renumber each touched tree
once with `rebuild_trees`, which computes lft/rght/level in Python from (id, parent) pairs and
writes them back in a few set-based statements.
"""

from collections import defaultdict
from collections.abc import Iterable

from django.db import connection, transaction
from django.db.models import Max

from orgs.models import OrgUnit

# Two-key advisory locks: (namespace, tree_id). Key 0 guards the allocation of new tree ids.
LOCK_NAMESPACE = 410102
NEW_ROOT_LOCK = 0


def _advisory_lock(key: int) -> None:
    if not connection.in_atomic_block:
        raise RuntimeError("Tree locks are transaction-scoped: call inside transaction.atomic().")
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [LOCK_NAMESPACE, key])


def lock_trees(tree_ids: Iterable[int]) -> None:
    """Lock the given trees for the rest of the transaction, in a fixed order to avoid deadlocks."""
    for tree_id in sorted(set(tree_ids)):
        _advisory_lock(int(tree_id))


def lock_new_roots() -> None:
    _advisory_lock(NEW_ROOT_LOCK)


def next_tree_id() -> int:
    """The next free tree id; the caller must hold `lock_new_roots()`."""
    return (OrgUnit.objects.aggregate(m=Max("tree_id"))["m"] or 0) + 1


def compute_numbers(
    nodes: Iterable[tuple[int, int | None, str, int]],
) -> dict[int, tuple[int, int, int, int]]:
    """Nested-set numbers for (id, parent_id, code, tree_id) rows: id -> (tree_id, lft, rght, level).

    Siblings are ordered by code, as `MPTTMeta.order_insertion_by` does. Iterative, so a deep or
    wide tree never hits the recursion limit.
    """
    children: dict[int | None, list[tuple[str, int]]] = defaultdict(list)
    root_tree: dict[int, int] = {}
    for node_id, parent_id, code, tree_id in nodes:
        children[parent_id].append((code, node_id))
        if parent_id is None:
            root_tree[node_id] = tree_id
    for siblings in children.values():
        siblings.sort()

    numbers: dict[int, tuple[int, int, int, int]] = {}
    for _code, root_id in children[None]:
        tree_id = root_tree[root_id]
        counter = 1
        lft: dict[int, int] = {}
        stack: list[tuple[int, int, bool]] = [(root_id, 0, False)]
        while stack:
            node_id, level, done = stack.pop()
            if done:
                numbers[node_id] = (tree_id, lft[node_id], counter, level)
                counter += 1
                continue
            lft[node_id] = counter
            counter += 1
            stack.append((node_id, level, True))
            for _c, child_id in reversed(children.get(node_id, [])):
                stack.append((child_id, level + 1, False))
    return numbers


def _write_numbers(changes: list[tuple[int, int, int, int, int]]) -> None:
    """Write (id, tree_id, lft, rght, level) rows in chunks: one UPDATE ... FROM VALUES per chunk."""
    if not changes:
        return
    table = OrgUnit._meta.db_table
    chunk = 5000
    with connection.cursor() as cursor:
        for start in range(0, len(changes), chunk):
            part = changes[start : start + chunk]
            values = ",".join(["(%s,%s,%s,%s,%s)"] * len(part))
            sql = (
                f"UPDATE {table} AS u SET tree_id = v.tree_id, lft = v.lft, rght = v.rght, level = v.level "  # noqa: S608
                f"FROM (VALUES {values}) AS v(id, tree_id, lft, rght, level) WHERE u.id = v.id"
            )
            cursor.execute(sql, [value for row in part for value in row])


@transaction.atomic
def rebuild_trees(tree_ids: Iterable[int]) -> int:
    """Renumber whole trees from their parent links; returns how many rows changed. Locks the trees."""
    tree_ids = sorted(set(tree_ids))
    if not tree_ids:
        return 0
    lock_trees(tree_ids)
    rows = list(
        OrgUnit.objects.filter(tree_id__in=tree_ids).values_list(
            "id", "parent_id", "code", "tree_id", "lft", "rght", "level"
        )
    )
    current = {row[0]: (row[3], row[4], row[5], row[6]) for row in rows}
    numbers = compute_numbers((row[0], row[1], row[2], row[3]) for row in rows)
    changes = [(node_id, *nums) for node_id, nums in numbers.items() if current.get(node_id) != nums]
    _write_numbers(changes)
    return len(changes)


def tree_problems(tree_ids: Iterable[int] | None = None) -> list[str]:
    """Everything wrong with the nested sets (empty list = healthy). Streams the rows once."""
    qs = OrgUnit.objects.all()
    if tree_ids is not None:
        qs = qs.filter(tree_id__in=list(tree_ids))
    nodes: dict[int, tuple[int | None, int, int, int, int, str]] = {}
    parent_id: int | None  # roots have none (the stubs type the column as a plain int)
    for node_id, parent_id, tree_id, lft, rght, level, code in qs.values_list(
        "id", "parent_id", "tree_id", "lft", "rght", "level", "code"
    ).iterator(chunk_size=10000):
        nodes[node_id] = (parent_id, tree_id, lft, rght, level, code)

    problems: list[str] = []
    descendants: dict[int, int] = defaultdict(int)
    by_tree: dict[int, list[int]] = defaultdict(list)
    roots: dict[int, list[str]] = defaultdict(list)
    for parent_id, tree_id, lft, rght, level, code in nodes.values():
        by_tree[tree_id].extend((lft, rght))
        if lft >= rght:
            problems.append(f"{code}: lft {lft} is not below rght {rght}")
        if parent_id is None:
            roots[tree_id].append(code)
            if level != 0 or lft != 1:
                problems.append(f"{code}: root has level {level} and lft {lft} (expected 0 and 1)")
            continue
        parent = nodes.get(parent_id)
        if parent is None:
            if tree_ids is None:
                problems.append(f"{code}: parent {parent_id} is missing")
            continue
        p_parent, p_tree, p_lft, p_rght, p_level, p_code = parent
        if p_tree != tree_id:
            problems.append(f"{code}: tree_id {tree_id} differs from its parent {p_code} ({p_tree})")
        if not (p_lft < lft and rght < p_rght):
            problems.append(f"{code}: ({lft}, {rght}) is not inside its parent {p_code} ({p_lft}, {p_rght})")
        if level != p_level + 1:
            problems.append(f"{code}: level {level} is not its parent's level + 1 ({p_level + 1})")
        ancestor: int | None = parent_id
        seen = 0
        while ancestor is not None and seen <= len(nodes):
            descendants[ancestor] += 1
            ancestor = nodes[ancestor][0] if ancestor in nodes else None
            seen += 1
    for node_id, (_parent_id, _tree_id, lft, rght, _level, code) in nodes.items():
        if (rght - lft - 1) != 2 * descendants.get(node_id, 0):
            problems.append(
                f"{code}: ({lft}, {rght}) spans {(rght - lft - 1) // 2} descendants, has {descendants.get(node_id, 0)}"
            )
    for tree_id, values in by_tree.items():
        if sorted(values) != list(range(1, len(values) + 1)):
            problems.append(f"tree {tree_id}: lft/rght values are not exactly 1..{len(values)}")
        if len(roots.get(tree_id, [])) != 1:
            problems.append(
                f"tree {tree_id}: has {len(roots.get(tree_id, []))} roots {roots.get(tree_id, [])}"
            )
    return problems
