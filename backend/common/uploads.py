"""Refusing an oversized upload from its declared length, before a byte of the body is read.

Django reads no more than CONTENT_LENGTH (a request without it has an empty body), and parsing a
multipart body spools it to disk, so checking the declared length first bounds what any upload
endpoint can make the server store.
"""

from collections.abc import Callable
from typing import Any

from common.exceptions import PayloadTooLarge

# Room for the multipart framing around one file (boundaries, part headers, a long file name).
MULTIPART_OVERHEAD = 64 * 1024


def declared_length(request: Any) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


def refuse_declared_length(request: Any, *, limit: int, refusal: Callable[[int], PayloadTooLarge]) -> None:
    """Raise `refusal(length)` (a 413 that says which rule) when the declared length exceeds `limit`."""
    length = declared_length(request)
    if length > limit:
        raise refusal(length)


def megabytes(size: int) -> str:
    """A size in MB for messages: three significant digits (0.5, 20, 1.23)."""
    return f"{size / (1024 * 1024):.3g}"
