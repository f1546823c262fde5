"""Django's own answers in the API's error format under /api/, and the CSRF refusal.

DRF words the errors its views raise; these are the ones Django answers itself (an unknown URL, an
unhandled exception, a rejected host or body): JSON `{"message": ...}` for /api/, Django's plain pages
elsewhere (the web app's handlers show its own pages and ask these for /api/).
"""

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.html import escape
from django.utils.translation import gettext as _
from django.views import defaults


def is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    if is_api(request):
        return JsonResponse({"message": _("The request could not be understood.")}, status=400)
    return defaults.bad_request(request, exception)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    if is_api(request):
        return JsonResponse({"message": _("You do not have permission to do this.")}, status=403)
    return defaults.permission_denied(request, exception)


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if is_api(request):
        return JsonResponse({"message": _("Not found, or you do not have access to it.")}, status=404)
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    if is_api(request):
        return JsonResponse(
            {"message": _("Something went wrong on the server; it has been logged. Try again later.")},
            status=500,
        )
    return defaults.server_error(request)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """Django's CSRF refusal in the reader's language: JSON for the API, a short page otherwise."""
    message = _(
        "The form's security check (CSRF) failed: reload the page and try again. If it keeps failing, "
        "allow cookies for this site."
    )
    if is_api(request):
        return JsonResponse({"message": message}, status=403)
    body = f"<!doctype html><meta charset=utf-8><title>403</title><p>{escape(message)}</p>"
    return HttpResponse(body, status=403)
