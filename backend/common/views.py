"""Pages of the service itself (not of an app): the CSRF refusal."""

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.html import escape
from django.utils.translation import gettext as _


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """Django's CSRF refusal in the reader's language: JSON for the API, a short page otherwise."""
    message = _(
        "The form's security check (CSRF) failed: reload the page and try again. If it keeps failing, "
        "allow cookies for this site."
    )
    if request.path.startswith("/api/"):
        return JsonResponse({"message": message}, status=403)
    body = f"<!doctype html><meta charset=utf-8><title>403</title><p>{escape(message)}</p>"
    return HttpResponse(body, status=403)
