"""Group robots: WeCom, DingTalk and Feishu/Lark webhooks, with the platforms' signing secrets.

Small clients rather than apprise (checked: 2.2.0): apprise builds the webhook address from a token
on the platform's public host, so it cannot reach private deployments (政务钉钉, on-premises WeCom)
nor a test server; it has no signing secret for Feishu/Lark; and it judges the HTTP status only,
while these platforms answer 200 with an error code in the body (a wrong signature, a missing
keyword, a rate limit), which must be recorded as a failure. Each client here posts the platform's
text message to the webhook address the group's administrator copied, signs it where the
platform asks, and reads the platform's own error code.
"""

import base64
import hashlib
import hmac
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from django.conf import settings

from notifications.channels import ChannelError, TransientChannelError

# Error codes that mean "too many messages, try later" (DingTalk 130101, WeCom 45009, Feishu 9499 /
# 11232 for frequency limits).
RATE_LIMITED = {130101, 45009, 9499, 11232}


def host_allowed(url: str) -> bool:
    """Whether `url` is an http(s) address on one of NOTIFICATIONS_ROBOT_HOSTS ("*": any host)."""
    parts = urllib.parse.urlsplit(url)
    allowed = settings.NOTIFICATIONS_ROBOT_HOSTS
    return (
        parts.scheme in ("http", "https")
        and bool(parts.hostname)
        and ("*" in allowed or (parts.hostname or "").lower() in {host.lower() for host in allowed})
    )


def _post(url: str, body: dict[str, Any]) -> dict[str, Any]:
    if not host_allowed(url):  # also a robot saved before the allowed hosts changed
        raise ChannelError("the webhook address must be http(s) on one of NOTIFICATIONS_ROBOT_HOSTS")
    request = urllib.request.Request(  # noqa: S310  (scheme and host checked above)
        url,
        data=json.dumps(body, ensure_ascii=False).encode("utf-8"),
        headers={"Content-Type": "application/json; charset=utf-8"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=settings.NOTIFICATIONS_HTTP_TIMEOUT) as response:  # noqa: S310
            raw = response.read(65536)
    except urllib.error.HTTPError as exc:
        message = f"HTTP {exc.code} {exc.reason}"
        if exc.code >= 500 or exc.code == 429:
            raise TransientChannelError(message) from exc
        raise ChannelError(message) from exc
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise TransientChannelError(f"no answer from the webhook: {reason}") from exc
    try:
        answer = json.loads(raw.decode("utf-8") or "{}")
    except (UnicodeDecodeError, json.JSONDecodeError):
        return {}
    return answer if isinstance(answer, dict) else {}


def _check(answer: dict[str, Any], *code_keys: str) -> None:
    for key in code_keys:
        code = answer.get(key)
        if code not in (None, 0):
            message = f"{key} {code}: {answer.get('errmsg') or answer.get('msg') or answer.get('StatusMessage') or ''}"
            if code in RATE_LIMITED:
                raise TransientChannelError(message)
            raise ChannelError(message)


def _wecom(url: str, secret: str, text: str) -> None:
    # WeCom group robots have no signing secret: the key in the address is the credential.
    _check(_post(url, {"msgtype": "text", "text": {"content": text}}), "errcode")


def _dingtalk(url: str, secret: str, text: str) -> None:
    if secret:
        # 加签: HMAC-SHA256 of "timestamp\nsecret" keyed with the secret, base64, in the query.
        timestamp = str(round(time.time() * 1000))
        digest = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
        sign = base64.b64encode(digest).decode()
        separator = "&" if urllib.parse.urlsplit(url).query else "?"
        url = f"{url}{separator}{urllib.parse.urlencode({'timestamp': timestamp, 'sign': sign})}"
    _check(_post(url, {"msgtype": "text", "text": {"content": text}}), "errcode")


def _feishu(url: str, secret: str, text: str) -> None:
    body: dict[str, Any] = {"msg_type": "text", "content": {"text": text}}
    if secret:
        # 签名校验: HMAC-SHA256 keyed with "timestamp\nsecret" over an empty message, base64.
        timestamp = str(int(time.time()))
        digest = hmac.new(f"{timestamp}\n{secret}".encode(), b"", hashlib.sha256).digest()
        body.update(timestamp=timestamp, sign=base64.b64encode(digest).decode())
    _check(_post(url, body), "code", "StatusCode")


CLIENTS = {"wecom": _wecom, "dingtalk": _dingtalk, "feishu": _feishu}


def send_robot(*, platform: str, url: str, secret: str, text: str) -> None:
    try:
        client = CLIENTS[platform]
    except KeyError as exc:
        raise ChannelError(f"unknown robot platform {platform!r}") from exc
    client(url, secret, text)
