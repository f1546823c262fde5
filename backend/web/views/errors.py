"""Django's 403, 404 and 500 handlers in the pages' design (config/urls.py); under /api/ they answer
in the API's error format (common.views)."""

from django.http import HttpRequest, HttpResponse
from django.template import loader
from django.utils.translation import gettext as _

from common import views as api_errors
from web.views.base import render_error


def forbidden(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if api_errors.is_api(request):
        return api_errors.permission_denied(request, exception or Exception())
    return render_error(request, 403, _("Your role does not allow this here."))


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if api_errors.is_api(request):
        return api_errors.page_not_found(request, exception)
    return render_error(request, 404, _("This page does not exist, or you do not have access to it."))


def server_error(request: HttpRequest) -> HttpResponse:
    """No database, session or user: whatever failed may be failing still."""
    if api_errors.is_api(request):
        return api_errors.server_error(request)
    body = loader.get_template("web/500.html").render({"status": 500})
    return HttpResponse(body, status=500)
