"""Session login (username or mobile number), log out, change one's own password, the home redirect."""

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse_lazy
from django.utils.translation import gettext as _

from notifications import selectors as notification_selectors
from orgs import selectors as org_selectors
from web.forms import LoginForm
from web.homes import current_workspace
from web.views.base import navigation, page, render_page, request_workspaces


class LoginView(auth_views.LoginView):
    template_name = "web/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True


class LogoutView(auth_views.LogoutView):
    """POST only (Django's rule): a link or a prefetch cannot log anyone out."""

    def post(self, request, *args, **kwargs):
        response = super().post(request, *args, **kwargs)
        messages.success(request, _("You have logged out."))
        return response


class PasswordChangeView(auth_views.PasswordChangeView):
    """Django's form and the configured password validators; the session stays logged in."""

    template_name = "web/password_change.html"
    success_url = reverse_lazy("web:account")

    def form_valid(self, form):
        response = super().form_valid(form)
        messages.success(self.request, _("Your password has been changed."))
        return response

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "nav": navigation(self.request, "account")}


@page
def home(request: HttpRequest) -> HttpResponse:
    """Each person lands on the home of their highest workspace (or the one they last opened)."""
    workspace = current_workspace(request, request_workspaces(request))
    if workspace is None:
        return redirect("web:account")
    return redirect(workspace.url)


@page
def account(request: HttpRequest) -> HttpResponse:
    memberships = org_selectors.me_memberships(user=request.user)  # type: ignore[arg-type]
    administers = notification_selectors.robot_units(user=request.user).exists()  # type: ignore[arg-type]
    context = {"memberships": memberships, "administers": administers}
    return render_page(request, "web/account.html", context, active="account")
