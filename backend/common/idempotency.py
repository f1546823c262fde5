"""Safe retries: a write sent again with the `Idempotency-Key` of an earlier successful one by the
same user returns the earlier outcome and changes nothing.

Used by services (tasks.services.submission), so the API and the web form retry the same way:

    outcome = idempotency.run_once(user=..., key=..., endpoint=..., fingerprint=lambda: ..., perform=...)
    outcome.value     # what `perform` returned the first time (JSON-able), e.g. {"submission": 12}
    outcome.replayed  # True when it comes from an earlier request

- The key row is written in the same transaction as the work, as its first write. Only a success is
  kept: `perform` raising (a 4xx, a 5xx) rolls the key back with everything else, so a corrected retry
  with the same key works. Files the work stored (common.files) are deleted with it.
- A second request with the key while the first is still running waits on the key's unique index;
  when the first commits, it gets the first's outcome; when the first fails, it goes ahead itself.
  If the first takes longer than LOCK_TIMEOUT_MS: 409 "still being processed".
- The same key with a different request (another endpoint, other fields or other files): 409. The
  IETF draft (draft-ietf-httpapi-idempotency-key-header) suggests 422 there; this API answers every
  "the key conflicts" case with 409 and tells them apart with `errors.idempotency_key`
  ("mismatch" / "in_progress"), which keeps 422 out of an API that uses 400 for invalid input.
- Keys are remembered for IDEMPOTENCY_KEY_HOURS (the hourly evidence sweep forgets older ones).
"""

import hashlib
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, OperationalError, connection, transaction
from django.utils.translation import gettext as _

from common import files
from common.exceptions import Conflict, ValidationFailed
from common.models import IdempotentRequest

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
_KEY = re.compile(r"^[\x21-\x7e]{1,100}$")  # printable ASCII without spaces, as in the IETF draft
LOCK_TIMEOUT_MS = 10_000
_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class Outcome:
    value: dict[str, Any]
    replayed: bool


def fingerprint(*, method: str, path: str, fields: Any, uploads: Iterable[UploadedFile] = ()) -> str:
    """SHA-256 over the endpoint, the form or JSON fields (order-independent) and each file's bytes."""
    digest = hashlib.sha256(f"{method} {path}\n".encode())
    if hasattr(fields, "lists"):  # QueryDict: every value of every key
        fields = {key: values for key, values in fields.lists()}
    digest.update(json.dumps(fields, sort_keys=True, cls=DjangoJSONEncoder, default=str).encode())
    for upload in uploads:
        digest.update(b"\nfile:")
        upload.seek(0)
        while chunk := upload.read(_CHUNK):
            digest.update(chunk)
        upload.seek(0)
    return digest.hexdigest()


def check_key(key: str | None) -> str | None:
    """The key as sent, or a 400 when it is malformed (checked before any work is done)."""
    if key is not None and not _KEY.match(key):
        raise ValidationFailed(
            _(
                "The Idempotency-Key header must be 1 to 100 printable ASCII characters without spaces (a UUID is ideal)."
            ),
            {"idempotency_key": [_("Invalid key.")]},
        )
    return key


def _conflict(code: str, message: str) -> Conflict:
    return Conflict(message, {"idempotency_key": code})


def _in_progress() -> Conflict:
    return _conflict(
        "in_progress",
        _("The same request is still being processed; retry in a moment with the same Idempotency-Key."),
    )


def _replay(stored: IdempotentRequest, *, endpoint: str, digest: str) -> Outcome:
    if stored.endpoint != endpoint or stored.fingerprint != digest:
        raise _conflict(
            "mismatch",
            _(
                "This Idempotency-Key was already used for a different request (%(endpoint)s). "
                "Send a new key with a new request; reuse a key only to retry the very same request."
            )
            % {"endpoint": stored.endpoint},
        )
    return Outcome(value=stored.response, replayed=True)


def _claim(*, user: Any, key: str, endpoint: str, digest: str) -> IdempotentRequest | None:
    """Insert the key row (the transaction's first write), or None when another request holds it."""
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SELECT set_config('lock_timeout', %s, true)", [f"{int(LOCK_TIMEOUT_MS)}ms"])
            record = IdempotentRequest.objects.create(
                user=user, key=key, endpoint=endpoint, fingerprint=digest
            )
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout TO DEFAULT")
            return record
    except IntegrityError:
        return None
    except OperationalError as exc:  # the first request holds the key longer than the lock timeout
        raise _in_progress() from exc


def run_once(
    *,
    user: Any,
    key: str | None,
    endpoint: str,
    fingerprint: Callable[[], str],
    perform: Callable[[], dict[str, Any]],
) -> Outcome:
    """Run `perform` once per (user, Idempotency-Key), in one transaction with the key; without a
    key, just run it (in a transaction all the same, files included)."""
    check_key(key)
    endpoint = endpoint[:255]
    if key is None:
        with files.discard_on_error(), transaction.atomic():
            return Outcome(value=perform(), replayed=False)
    digest = fingerprint()
    stored = IdempotentRequest.objects.filter(user=user, key=key).first()
    if stored is not None:
        return _replay(stored, endpoint=endpoint, digest=digest)
    # The files `perform` stores belong to this transaction: whatever fails before it commits (saving
    # the outcome on the key row, the commit itself) must take them back with the rows.
    with files.discard_on_error(), transaction.atomic():
        record = _claim(user=user, key=key, endpoint=endpoint, digest=digest)
        if record is None:  # a concurrent request with the key committed first: it is the outcome
            stored = IdempotentRequest.objects.filter(user=user, key=key).first()
            if stored is None:
                raise _in_progress()
            return _replay(stored, endpoint=endpoint, digest=digest)
        value = perform()
        record.response = value
        record.save(update_fields=["response"])
    return Outcome(value=value, replayed=False)


def prune(*, before: datetime) -> int:
    """Forget keys created before `before`; returns how many. One DELETE (no cascades)."""
    deleted, _by_model = IdempotentRequest.objects.filter(created_at__lt=before).delete()
    return deleted
