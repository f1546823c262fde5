"""Request checks that hold for every view, API, admin and pages alike."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.utils.translation import gettext as _


class RefuseNulInQueryMiddleware:
    """A NUL character in the query string is a 400 before any view runs.

    PostgreSQL cannot compare text with NUL in it (the driver raises, a 500), and no search, filter
    or admin lookup has a use for one. Form and JSON bodies are checked by their parsers (Django's
    form fields, DRF's CharField, common.parsers).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if any(
            "\x00" in key or any("\x00" in value for value in values) for key, values in request.GET.lists()
        ):
            message = _("The address must not contain NUL characters (%00).")
            if request.path.startswith("/api/"):
                return JsonResponse({"message": message}, status=400)
            return HttpResponseBadRequest(message, content_type="text/plain; charset=utf-8")
        return self.get_response(request)


class ContentSecurityPolicyMiddleware:
    """CONTENT_SECURITY_POLICY on every response that does not set its own.

    Pages here (the admin, Swagger UI) load scripts and styles from the site itself only; no inline
    script runs, nothing may frame the site. A script injected into a page would find nowhere to
    load from and nowhere to send to.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        from django.conf import settings

        response = self.get_response(request)
        if settings.CONTENT_SECURITY_POLICY and "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = settings.CONTENT_SECURITY_POLICY
        return response
