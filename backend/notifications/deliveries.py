"""Sending the pushes: email, SMS and group robots, each delivery once, failures retried then recorded.

`deliveries_send` (job `notifications.send_deliveries`, after every batch of new pushes and every
minute from beat) claims what is due with FOR UPDATE SKIP LOCKED, marks it `sending` and commits,
sends outside any transaction (a few at a time in threads, so one hanging robot does not hold up
the others), then records each outcome:

- sent: `sent`, with the time;
- a transient failure (timeout, HTTP 5xx, rate limit): `retrying`, tried again after an exponential
  back-off with jitter, until NOTIFICATIONS_MAX_ATTEMPTS; then `failed` with the error;
- a permanent failure (bad key, bad signature, refused address): `failed` with the error at once.

During quiet hours nothing is sent: what is due is `held` until they end. A delivery left in
`sending` (its worker died mid-send) is marked failed with "outcome unknown" rather than sent again:
each push is made at most once.
"""

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from notifications import schedule
from notifications.channels import ChannelError, TransientChannelError
from notifications.channels.email import send_email
from notifications.channels.robots import send_robot
from notifications.channels.sms import send_sms
from notifications.messages import render_for_push
from notifications.models import Channel, Delivery

logger = logging.getLogger(__name__)

Status = Delivery.Status
WAITING = (Status.PENDING, Status.HELD, Status.RETRYING)
BATCH = 200
THREADS = 8
# A delivery `sending` for longer than this lost its worker (a send takes at most the HTTP timeout).
LEASE = timedelta(minutes=10)


@dataclass
class Outcome:
    delivery_id: int
    error: str = ""
    transient: bool = False


def send_one(delivery: Delivery) -> Outcome:
    """Push one delivery; never raises (the outcome says what happened)."""
    title, body = render_for_push(delivery.kind, delivery.data)
    recipient, robot = delivery.recipient, delivery.robot
    try:
        if delivery.channel == Channel.EMAIL and recipient is not None:
            send_email(address=recipient.email, title=title, body=body)
        elif delivery.channel == Channel.SMS and recipient is not None:
            send_sms(mobile=recipient.mobile or "", text=f"{title}\n{body}")
        elif delivery.channel == Channel.ROBOT and robot is not None:
            send_robot(
                platform=robot.platform, url=robot.webhook_url, secret=robot.secret, text=f"{title}\n{body}"
            )
        else:
            raise ChannelError(f"nowhere to send a {delivery.channel!r} delivery")
    except TransientChannelError as exc:
        return Outcome(delivery.pk, str(exc) or type(exc).__name__, transient=True)
    except ChannelError as exc:
        return Outcome(delivery.pk, str(exc) or type(exc).__name__)
    except Exception as exc:  # a backend's own bug: recorded, retried, and logged with its traceback
        logger.exception("Delivery %s through %s failed", delivery.pk, delivery.channel)
        return Outcome(delivery.pk, f"{type(exc).__name__}: {exc}", transient=True)
    return Outcome(delivery.pk)


def _claim(now: datetime, limit: int) -> list[Delivery]:
    with transaction.atomic():
        ids = list(
            Delivery.objects.select_for_update(skip_locked=True)
            .filter(status__in=WAITING, next_attempt_at__lte=now)
            .order_by("next_attempt_at", "id")
            .values_list("id", flat=True)[:limit]
        )
        Delivery.objects.filter(id__in=ids).update(
            status=Status.SENDING, claimed_at=now, attempts=F("attempts") + 1
        )
    return list(Delivery.objects.filter(id__in=ids).select_related("recipient", "robot").order_by("id"))


def _record(deliveries: list[Delivery], outcomes: list[Outcome], now: datetime) -> dict[str, int]:
    by_id = {delivery.pk: delivery for delivery in deliveries}
    sent = [outcome.delivery_id for outcome in outcomes if not outcome.error]
    Delivery.objects.filter(id__in=sent).update(status=Status.SENT, sent_at=now, error="")
    failed = []
    for outcome in outcomes:
        if not outcome.error:
            continue
        delivery = by_id[outcome.delivery_id]
        delivery.error = outcome.error[:2000]
        if outcome.transient and delivery.attempts < settings.NOTIFICATIONS_MAX_ATTEMPTS:
            delivery.status = Status.RETRYING
            delivery.next_attempt_at = now + schedule.backoff(delivery.attempts)
        else:
            delivery.status = Status.FAILED
            logger.warning(
                "Delivery %s (%s) failed after %s attempts: %s",
                delivery.pk,
                delivery.channel,
                delivery.attempts,
                delivery.error,
            )
        failed.append(delivery)
    Delivery.objects.bulk_update(failed, ["status", "error", "next_attempt_at"])
    return {
        "sent": len(sent),
        "retrying": sum(1 for d in failed if d.status == Status.RETRYING),
        "failed": sum(1 for d in failed if d.status == Status.FAILED),
    }


def deliveries_send(*, now: datetime | None = None, limit: int = BATCH, rounds: int = 50) -> dict[str, int]:
    """Send every push that is due, `limit` at a time, for at most `rounds` batches."""
    totals = {"sent": 0, "retrying": 0, "failed": 0, "held": 0, "lost": 0}
    clock = now
    totals["lost"] = Delivery.objects.filter(
        status=Status.SENDING, claimed_at__lt=(clock or timezone.now()) - LEASE
    ).update(status=Status.FAILED, error="The worker stopped while sending; outcome unknown, not sent again.")
    for _round in range(rounds):
        current = clock or timezone.now()
        held_until = schedule.quiet_until(current)
        if held_until:
            totals["held"] += Delivery.objects.filter(
                status__in=(Status.PENDING, Status.RETRYING), next_attempt_at__lte=current
            ).update(status=Status.HELD, next_attempt_at=held_until)
            break
        deliveries = _claim(current, limit)
        if not deliveries:
            break
        with ThreadPoolExecutor(max_workers=min(THREADS, len(deliveries))) as pool:
            outcomes = list(pool.map(send_one, deliveries))
        for key, count in _record(deliveries, outcomes, clock or timezone.now()).items():
            totals[key] += count
        if len(deliveries) < limit:
            break
    return totals
