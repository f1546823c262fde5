"""Throttle failed logins for every login path (admin, browsable API session login, JWT).

Guessing is limited where it happens, without handing a stranger a way to lock an official out:

- per username and client address (LOGIN_THROTTLE_RATE, 5/min): the guesser's own address is held
  back; the official at theirs is not;
- per username across all addresses (LOGIN_USERNAME_CEILING, 50/hour) against guessing from many
  addresses, and per address across all usernames (LOGIN_ADDRESS_CEILING, 50/hour) against trying
  one password on many accounts. Neither ceiling applies to an address the username logged in from
  successfully in the last LOGIN_KNOWN_ADDRESS_DAYS (30) days: a stranger can exhaust them, but the
  official keeps logging in from their usual place.

Windows are fixed: they start at the first failure and end `period` later, which is what
`retry_after` reports. Failures are counted through Django's `user_login_failed` signal;
`ThrottledModelBackend` refuses to check a password while a limit holds and records successes.
Counters live in the cache (Redis in production, shared by every worker). Usernames are hashed into
the keys (`unlock(username)` clears them).
"""

import hashlib
import ipaddress
import math
import time
from functools import lru_cache

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.signals import user_login_failed
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.dispatch import receiver

_PERIODS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "hour": 3600, "d": 86400, "day": 86400}


def _rate(text: str) -> tuple[int, int]:
    count, period = text.split("/")
    return int(count), _PERIODS[period]


def _limits() -> dict[str, tuple[int, int]]:
    return {
        "pair": _rate(settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["login"]),
        "user": _rate(settings.LOGIN_USERNAME_CEILING),
        "ip": _rate(settings.LOGIN_ADDRESS_CEILING),
    }


@lru_cache(maxsize=8)
def _networks(spec: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(item, strict=False) for item in spec)


def _is_address(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def client_ip(request) -> str:
    """The client address. X-Forwarded-For is believed only from a trusted proxy.

    When the connection comes from an address in TRUSTED_PROXY_NETWORKS and TRUSTED_PROXY_COUNT
    proxies are declared, the entry those proxies appended (counted from the right) is the client;
    a client that reaches the app server directly is its REMOTE_ADDR, whatever header it sends.
    """
    if request is None:
        return "-"
    remote = request.META.get("REMOTE_ADDR", "") or "-"
    proxies = settings.TRUSTED_PROXY_COUNT
    if not proxies or not _is_address(remote):
        return remote
    peer = ipaddress.ip_address(remote)
    if not any(peer in network for network in _networks(tuple(settings.TRUSTED_PROXY_NETWORKS))):
        return remote
    forwarded = [
        part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()
    ]
    if len(forwarded) >= proxies and _is_address(forwarded[-proxies]):
        return forwarded[-proxies]
    return remote


def _user_key(username: object) -> str | None:
    if not isinstance(username, str) or not username.strip():
        return None
    return hashlib.sha256(username.strip().lower().encode()).hexdigest()[:32]


def _counters(username: object, ip: str) -> list[tuple[str, str]]:
    """(limit name, cache key) of every counter a failure of this username from this address adds to."""
    user = _user_key(username)
    counters = [("ip", f"login-fail:ip:{ip}")]
    if user:
        counters += [("pair", f"login-fail:pair:{user}:{ip}"), ("user", f"login-fail:user:{user}")]
    return counters


def _known_key(username: object, ip: str) -> str | None:
    user = _user_key(username)
    return f"login-ok:{user}:{ip}" if user else None


def retry_after(username: object, request) -> int | None:
    """Seconds until this username may try again from this address, or None when it may now."""
    ip = client_ip(request)
    limits = _limits()
    known_key = _known_key(username, ip)
    known = bool(known_key and cache.get(known_key))
    waits = []
    for name, key in _counters(username, ip):
        count, _period = limits[name]
        if name != "pair" and known:
            continue  # the ceilings never hold back an address this username uses
        if (cache.get(key) or 0) >= count:
            until = cache.get(f"{key}:until") or time.time() + 1
            waits.append(max(1, math.ceil(until - time.time())))
    return max(waits) if waits else None


def record_failure(username: object, request) -> None:
    ip = client_ip(request)
    limits = _limits()
    now = time.time()
    for name, key in _counters(username, ip):
        _count, period = limits[name]
        cache.add(f"{key}:until", now + period, timeout=period)
        if cache.add(key, 1, timeout=period):
            continue
        try:
            cache.incr(key)
        except ValueError:  # expired between add() and incr()
            cache.set(key, 1, timeout=period)


def record_success(username: object, request) -> None:
    """The address is now known for this username; its own failures are forgiven."""
    ip = client_ip(request)
    known_key = _known_key(username, ip)
    if known_key is None:
        return
    cache.set(known_key, 1, timeout=settings.LOGIN_KNOWN_ADDRESS_DAYS * 86400)
    for name, key in _counters(username, ip):
        if name == "pair":
            cache.delete_many([key, f"{key}:until"])


def unlock(username: str) -> None:
    """Lift the per-username ceiling at once (operations.md: an official locked out by a campaign)."""
    user = _user_key(username)
    if user:
        cache.delete_many([f"login-fail:user:{user}", f"login-fail:user:{user}:until"])


@receiver(user_login_failed)
def _on_login_failed(sender, credentials, request=None, **kwargs):
    record_failure(credentials.get("username"), request)


class ThrottledModelBackend(ModelBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        username = username if username is not None else kwargs.get("username")
        if not isinstance(username, str) or not isinstance(password, str):
            return None  # a list or a number is no username: a failed login, not a server error
        if retry_after(username, request):
            raise PermissionDenied  # stops authenticate() and counts as another failure
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is not None:
            record_success(username, request)
        return user
