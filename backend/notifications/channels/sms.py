"""SMS behind one small interface, so a provider can be added without touching the scan.

A backend is a class with `send(mobile, text)` that returns on success and raises
notifications.channels.ChannelError (or TransientChannelError) on failure; NOTIFICATIONS_SMS_BACKEND
names it by its dotted path. LoggingSmsBackend only writes the message to the log (demo, tests, a
deployment that has not chosen a provider yet).
"""

import logging
from functools import cache
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)


class SmsBackend(Protocol):
    def send(self, mobile: str, text: str) -> None: ...


class LoggingSmsBackend:
    def send(self, mobile: str, text: str) -> None:
        logger.info("SMS to %s: %s", mobile, text)


@cache
def _backend(path: str) -> SmsBackend:
    return import_string(path)()


def send_sms(*, mobile: str, text: str) -> None:
    _backend(settings.NOTIFICATIONS_SMS_BACKEND).send(mobile, text)
