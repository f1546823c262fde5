"""One error family for the whole service, mapped once to `{"message": ..., "errors": {...}}`."""

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import exceptions as drf_exceptions
from rest_framework import status
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.views import exception_handler
from rest_framework_simplejwt.exceptions import InvalidToken


class ApplicationError(Exception):
    """A business rule said no. `message` is for the person; `extra` carries field or row errors."""

    # `int`, not the literal: subclasses (and `ImageRejected` per instance) set their own status.
    status_code: int = status.HTTP_400_BAD_REQUEST

    def __init__(self, message: Any, extra: dict[str, Any] | None = None):
        super().__init__(str(message))
        self.message = message
        self.extra = extra or {}


class ValidationFailed(ApplicationError):
    status_code: int = status.HTTP_400_BAD_REQUEST


class Forbidden(ApplicationError):
    status_code: int = status.HTTP_403_FORBIDDEN


class NotFound(ApplicationError):
    status_code: int = status.HTTP_404_NOT_FOUND


class Conflict(ApplicationError):
    status_code: int = status.HTTP_409_CONFLICT


class PayloadTooLarge(ApplicationError):
    status_code: int = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE


def _first_message(errors: Any) -> str | None:
    if isinstance(errors, dict):
        for value in errors.values():
            found = _first_message(value)
            if found:
                return found
    elif isinstance(errors, list):
        for value in errors:
            found = _first_message(value)
            if found:
                return found
    elif errors:
        return str(errors)
    return None


def api_exception_handler(exc: Exception, context: dict) -> Response | None:
    if isinstance(exc, ApplicationError):
        body: dict[str, Any] = {"message": str(exc.message)}
        if exc.extra:
            body["errors"] = exc.extra
        return Response(body, status=exc.status_code)
    if isinstance(exc, InvalidToken):
        # simplejwt's own wording ("此令牌对任何类型的令牌无效") tells a person nothing they can act on.
        return Response(
            {
                "message": _("Your login has expired or its token is not valid; log in again."),
                "errors": {"token": ["token_not_valid"]},
            },
            status=exc.status_code,
            headers={"WWW-Authenticate": 'Bearer realm="api"'},
        )
    if isinstance(exc, DjangoValidationError):
        exc = drf_exceptions.ValidationError(as_serializer_error(exc))
    elif isinstance(exc, Http404):
        exc = drf_exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = drf_exceptions.PermissionDenied()

    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, drf_exceptions.ValidationError):
        detail = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        first = _first_message(detail)
        message = (
            _("The request has invalid fields: %(first)s") % {"first": first}
            if first
            else _("Invalid request.")
        )
        response.data = {"message": message, "errors": detail}
    elif isinstance(exc, drf_exceptions.NotFound):
        # A lookup that found nothing says so without telling "missing" from "not yours"; a NotFound
        # raised with its own words (a page past the end of a list) keeps them.
        said = str(exc.detail)
        generic = said == str(drf_exceptions.NotFound.default_detail)
        response.data = {"message": _("Not found, or you do not have access to it.") if generic else said}
    else:
        other = response.data.get("detail") if isinstance(response.data, dict) else response.data
        response.data = {"message": str(other)}
    return response
