"""Throttle repeated failed logins, per username and per client address, for every login path.

Django's `user_login_failed` signal counts failures (admin, browsable API session login and JWT all
go through `authenticate()`); `ThrottledModelBackend` refuses to even check a password while the
counter is over the limit, so guessing stops working during the window. A success resets the
username's counter.
"""

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.dispatch import receiver

_PERIODS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "hour": 3600, "d": 86400, "day": 86400}


def _limit() -> tuple[int, int]:
    rate = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["login"]
    count, period = rate.split("/")
    return int(count), _PERIODS[period]


def client_ip(request) -> str:
    """The client address; behind TRUSTED_PROXY_COUNT proxies, the entry they added to X-Forwarded-For."""
    if request is None:
        return "-"
    proxies = settings.TRUSTED_PROXY_COUNT
    forwarded = [
        part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()
    ]
    if proxies and len(forwarded) >= proxies:
        return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR", "-")


def _keys(username: str | None, ip: str) -> list[str]:
    keys = [f"login-fail:ip:{ip}"]
    if username:
        keys.append(f"login-fail:user:{username.lower()}")
    return keys


def retry_after(username: str | None, request) -> int | None:
    """Seconds to wait if this username or address is locked out, else None."""
    limit, period = _limit()
    for key in _keys(username, client_ip(request)):
        if (cache.get(key) or 0) >= limit:
            return period
    return None


def record_failure(username: str | None, request) -> None:
    _limit_count, period = _limit()
    for key in _keys(username, client_ip(request)):
        if cache.add(key, 1, timeout=period):
            continue
        try:
            cache.incr(key)
        except ValueError:
            cache.set(key, 1, timeout=period)


@receiver(user_login_failed)
def _on_login_failed(sender, credentials, request=None, **kwargs):
    record_failure(credentials.get("username"), request)


@receiver(user_logged_in)
def _on_logged_in(sender, request, user, **kwargs):
    cache.delete(f"login-fail:user:{user.get_username().lower()}")


class ThrottledModelBackend(ModelBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        if retry_after(username or kwargs.get("username"), request):
            raise PermissionDenied  # stops authenticate() and counts as another failure
        return super().authenticate(request, username=username, password=password, **kwargs)
