"""Forms of the pages that are not workflow forms (those come with the `actions`, phase 2)."""

from django import forms
from django.contrib.auth import authenticate
from django.contrib.auth.forms import AuthenticationForm
from django.db.models import Case, IntegerField, Q, Value, When
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from orgs import login_throttle
from orgs.models import User


def login_name(identifier: str) -> str:
    """The username to authenticate: the account called `identifier`, else the one whose mobile
    number it is, else `identifier` as typed (which then fails like any wrong name). One query."""
    found = (
        User.objects.filter(Q(username=identifier) | Q(mobile=identifier))
        .annotate(
            by_name=Case(
                When(username=identifier, then=Value(0)), default=Value(1), output_field=IntegerField()
            )
        )
        .order_by("by_name")
        .values_list("username", flat=True)
        .first()
    )
    return found or identifier


class LoginForm(AuthenticationForm):
    """Username or mobile number, and the same failed-login throttle as the API (orgs.login_throttle):
    a locked-out name or address is refused before any password is checked."""

    username = forms.CharField(
        label=gettext_lazy("Username or mobile number"),
        max_length=150,
        widget=forms.TextInput(
            attrs={"autofocus": True, "autocomplete": "username", "autocapitalize": "none"}
        ),
    )
    error_messages = {
        "invalid_login": gettext_lazy("The account or the password is wrong. Check both and try again."),
        "inactive": gettext_lazy("This account is disabled. Ask your administrator."),
    }

    def clean(self):
        identifier = (self.cleaned_data.get("username") or "").strip()
        password = self.cleaned_data.get("password")
        if identifier and password:
            username = login_name(identifier)
            wait = login_throttle.retry_after(username, self.request)
            if wait:
                raise forms.ValidationError(
                    _("Too many failed logins. Try again in %(minutes)s minute(s).")
                    % {"minutes": max(1, wait // 60)},
                    code="throttled",
                )
            self.user_cache = authenticate(self.request, username=username, password=password)
            if self.user_cache is None:
                raise self.get_invalid_login_error()
            self.confirm_login_allowed(self.user_cache)
        return self.cleaned_data
