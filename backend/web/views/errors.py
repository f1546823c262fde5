"""Django's 403, 404 and 500 handlers in the pages' design (config/urls.py)."""

from django.http import HttpRequest, HttpResponse
from django.template import loader
from django.utils.translation import gettext as _

from web.views.base import render_error


def forbidden(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render_error(request, 403, _("Your role does not allow this here."))


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render_error(request, 404, _("This page does not exist, or you do not have access to it."))


def server_error(request: HttpRequest) -> HttpResponse:
    """No database, session or user: whatever failed may be failing still."""
    body = loader.get_template("web/500.html").render({"status": 500})
    return HttpResponse(body, status=500)
