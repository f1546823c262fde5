"""Email through Django's email backend (SMTP in production, configured by EMAIL_HOST and friends)."""

import smtplib

from django.conf import settings
from django.core.mail import send_mail

from notifications.channels import ChannelError, TransientChannelError


def send_email(*, address: str, title: str, body: str) -> None:
    try:
        send_mail(title, body, settings.DEFAULT_FROM_EMAIL, [address], fail_silently=False)
    except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused) as exc:
        raise ChannelError(f"email refused: {exc}") from exc
    except (smtplib.SMTPException, OSError) as exc:
        raise TransientChannelError(f"email: {exc}") from exc
