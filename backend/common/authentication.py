"""Session authentication for the API whose refusals read in the person's language."""

from django.utils.translation import gettext as _
from rest_framework import authentication, exceptions


class SessionAuthentication(authentication.SessionAuthentication):
    """DRF's, with the CSRF refusal explained ("CSRF Failed: CSRF cookie not set." is for developers)."""

    def enforce_csrf(self, request):
        try:
            super().enforce_csrf(request)
        except exceptions.PermissionDenied as exc:
            raise exceptions.PermissionDenied(
                _(
                    "The form's security check (CSRF) failed: reload the page and try again. "
                    "Programs should send a token (Authorization: Bearer …) instead of the session."
                )
            ) from exc
