"""Bulk imports: the division list (the tree) and the onboarding sheet (people and their roles).

Both are all-or-nothing. Every row is checked first and every bad row is reported with its row
number (the header is row 1); only a file without a single error writes anything, in one
transaction. Both are idempotent: importing the same file again changes nothing.

Query counts are bounded whatever the row count: rows are looked up with chunked `IN` queries,
written with `bulk_create` / `bulk_update`, and a unit import renumbers each touched tree once
(`orgs.tree.rebuild_trees`) instead of letting mptt renumber per row.

The package: `tables` reads a sheet and holds what both imports share, `units` is the division list,
`people` the onboarding sheet.
"""

from orgs.imports.people import users_import
from orgs.imports.tables import (
    ImportResult,
    people_refusal,
    read_table,
    read_upload,
    require_role_somewhere,
    units_refusal,
)
from orgs.imports.units import units_import

__all__ = [
    "ImportResult",
    "people_refusal",
    "read_table",
    "read_upload",
    "require_role_somewhere",
    "units_import",
    "units_refusal",
    "users_import",
]
