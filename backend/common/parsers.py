"""JSON request bodies with a size limit and a nesting limit (REST_FRAMEWORK's default JSON parser).

DRF's own JSONParser reads the body from the stream, so Django's DATA_UPLOAD_MAX_MEMORY_SIZE never
applies to it: a 20 MB body sent to the login endpoint cost 500 MB, and a deeply nested one ended in
RecursionError (a 500). Here the declared Content-Length is checked before a byte is read, the
reading stops one byte past the limit whatever was declared (a chunked body has no length), and the
parsed document may nest at most API_JSON_MAX_DEPTH levels. Text must not contain NUL characters,
which PostgreSQL cannot store: refused here once rather than as a database error later.
"""

from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _
from rest_framework import status
from rest_framework.exceptions import APIException, ParseError
from rest_framework.parsers import JSONParser
from rest_framework.utils import json

# DRF's exceptions, not common.exceptions: DRF imports this module (through its settings) while
# common.exceptions is itself still importing DRF. The API's exception handler words both alike.

_CHUNK = 64 * 1024


class RequestTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE


def _too_large(limit: int) -> RequestTooLarge:
    return RequestTooLarge(
        _("The request body is larger than %(limit)s KB, the most a JSON request may carry.")
        % {"limit": limit // 1024}
    )


class BoundedJSONParser(JSONParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        from common.uploads import declared_length  # at request time: see the note on the imports

        limit = settings.API_JSON_MAX_BYTES
        request = (parser_context or {}).get("request")
        if request is not None and declared_length(request) > limit:
            raise _too_large(limit)
        body = _read_at_most(stream, limit)
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = body.decode(encoding)
            parse_constant = json.strict_constant if self.strict else None
            data = json.loads(text, parse_constant=parse_constant)
        except RecursionError:
            raise _too_deep() from None
        except ValueError as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
            raise ParseError(_("JSON parse error - %(error)s") % {"error": exc}) from None
        _check_document(data)
        return data


def _read_at_most(stream: Any, limit: int) -> bytes:
    if stream is None:
        return b""
    parts: list[bytes] = []
    size = 0
    while chunk := stream.read(min(_CHUNK, limit + 1 - size)):
        parts.append(chunk)
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
    return b"".join(parts)


def _too_deep() -> ParseError:
    return ParseError(
        _("The JSON body is nested more than %(depth)s levels deep.") % {"depth": settings.API_JSON_MAX_DEPTH}
    )


def _check_document(data: Any) -> None:
    """Depth and NUL characters, walked without recursion."""
    max_depth = settings.API_JSON_MAX_DEPTH
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            if "\x00" in value:
                raise ParseError(_("Text in the request must not contain NUL characters."))
        elif isinstance(value, dict | list):
            if depth > max_depth:
                raise _too_deep()
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, item in items:
                if isinstance(key, str) and "\x00" in key:
                    raise ParseError(_("Text in the request must not contain NUL characters."))
                stack.append((item, depth + 1))
