"""Score lines, period scores and monthly work figures, computed set-based in PostgreSQL.

One path for everything: `refresh(scope)` recomputes the score lines of the assignments in `scope`,
then the period scores and monthly figures of every unit whose figures those lines (as they were
before and as they are now) feed, and of their ancestors, one level at a time from the bottom of
the tree up. An event about one assignment makes the scope that assignment: a bounded number of
statements (the tree is at most three levels deep), whatever the size of the district. The nightly
recompute makes the scope everything (or one district, or one period) and runs the very same
statements; it then also removes rows nothing feeds any more. That is why the incremental result
equals the full one (tests/scoring/test_incremental.py checks it on random trees and outcomes).

Rows inside a closed period (scoring.models.PeriodClosure) are never written: a score line whose
month lies in a closed period of its district, and a period score whose period does.

Concurrency: a refresh holds a transaction-scoped advisory lock per district tree it touches
(sorted, so two refreshes never deadlock), so the units of one district are recomputed one refresh
at a time and a parent is never computed from half-updated children.

The package, one module per concern:

    sql       the lock class, table names, shared SQL fragments, `_merge` and `Scope`
    lines     score lines
    scores    the targets to recompute and the period scores
    figures   the monthly work figures
    run       `refresh` itself: locks, the order of the steps, what only full runs do (not named
              `refresh`: the function re-exported here would hide the module)

Callers use the names re-exported here (`from scoring import compute; compute.refresh(...)`).
"""

from scoring.compute.run import refresh
from scoring.compute.sql import SCORING_LOCK, Scope

__all__ = ["SCORING_LOCK", "Scope", "refresh"]
