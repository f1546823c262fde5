"""Files written by a request or job that fails are deleted with it.

Storage is not transactional: a service that saves files inside a database transaction names each
saved file here (`remember`), and `discard_on_error()` around the transaction deletes them all if the
block raises, commit included. What cannot be deleted now is left to the evidence orphan sweep.
"""

import contextlib
import logging
from collections.abc import Iterator
from contextvars import ContextVar

from django.core.files.storage import default_storage

logger = logging.getLogger(__name__)

# A ContextVar, so the service writing files and the view or job owning the transaction need not pass
# a list around.
_written: ContextVar[list[str] | None] = ContextVar("written_files", default=None)


@contextlib.contextmanager
def discard_on_error() -> Iterator[None]:
    """Delete every file remembered inside the block if the block raises.

    Nested blocks share the outermost one's list, so a file is kept only when the outermost block
    (typically the one around the whole transaction, commit included) ends normally.
    """
    if _written.get() is not None:
        yield
        return
    names: list[str] = []
    token = _written.set(names)
    try:
        yield
    except BaseException:
        delete_quietly(names)
        raise
    finally:
        _written.reset(token)


def remember(name: str) -> None:
    """Note a file saved in default storage by the current block (no-op outside one)."""
    written = _written.get()
    if written is not None:
        written.append(name)


def delete_quietly(names: list[str]) -> None:
    for name in names:
        try:
            default_storage.delete(name)
        except Exception:  # the hourly sweep removes what could not be removed now
            logger.warning("Could not delete %s; the orphan sweep will retry.", name, exc_info=True)
