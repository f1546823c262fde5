"""Safe retries: a request carrying the `Idempotency-Key` of an earlier successful one by the same
user gets the earlier response back (`Idempotent-Replayed: true`) and changes nothing.

Reusable by any view:

    return idempotency.idempotent(request, fingerprint=lambda: ..., perform=lambda: Response(...))

- The key row is written in the same transaction as the work, as its first write. Only a 2xx
  outcome is kept; a failed request (4xx, 5xx) rolls back with its key, so a corrected retry with
  the same key works. Files the work stored through `evidence.storage` are deleted with it.
- A second request with the key while the first is still running waits on the key's unique index;
  when the first commits, it gets the first's response; when the first fails, it goes ahead itself.
  If the first takes longer than LOCK_TIMEOUT_MS: 409 "still being processed".
- The same key with a different request (another endpoint, other fields or other files): 409. The
  IETF draft (draft-ietf-httpapi-idempotency-key-header) suggests 422 there; this API answers every
  "the key conflicts" case with 409 and tells them apart with `errors.idempotency_key`
  ("mismatch" / "in_progress"), which keeps 422 out of an API that uses 400 for invalid input.
- Keys are remembered for IDEMPOTENCY_KEY_HOURS (the hourly sweep forgets older ones).
"""

import hashlib
import json
import re
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, OperationalError, connection, transaction
from django.utils.translation import gettext as _
from rest_framework.response import Response

from common.exceptions import Conflict, ValidationFailed
from evidence import storage
from evidence.models import IdempotentRequest

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
_KEY = re.compile(r"^[\x21-\x7e]{1,100}$")  # printable ASCII without spaces, as in the IETF draft
LOCK_TIMEOUT_MS = 10_000
_CHUNK = 1024 * 1024


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


def _conflict(code: str, message: str) -> Conflict:
    return Conflict(message, {"idempotency_key": code})


def _replay(stored: IdempotentRequest, *, endpoint: str, digest: str) -> Response:
    if stored.endpoint != endpoint or stored.fingerprint != digest:
        raise _conflict(
            "mismatch",
            _(
                "This Idempotency-Key was already used for a different request (%(endpoint)s). "
                "Send a new key with a new request; reuse a key only to retry the very same request."
            )
            % {"endpoint": stored.endpoint},
        )
    response = Response(stored.response, status=stored.status_code)
    response[REPLAYED_HEADER] = "true"
    return response


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
        raise _conflict(
            "in_progress",
            _("The same request is still being processed; retry in a moment with the same Idempotency-Key."),
        ) from exc


class _NotRemembered(Exception):
    """Rolls back the key (and anything `perform` wrote, files included), yet answers `response`."""

    def __init__(self, response: Response):
        super().__init__(response.status_code)
        self.response = response


def idempotent(request: Any, *, fingerprint: Callable[[], str], perform: Callable[[], Response]) -> Response:
    """Run `perform` once per (user, Idempotency-Key); without the header, just run it."""
    key = request.headers.get(HEADER)
    if key is None:
        return perform()
    if not _KEY.match(key):
        raise ValidationFailed(
            _(
                "The Idempotency-Key header must be 1 to 100 printable ASCII characters without spaces (a UUID is ideal)."
            ),
            {"idempotency_key": [_("Invalid key.")]},
        )
    endpoint = f"{request.method} {request.path}"[:255]
    digest = fingerprint()
    stored = IdempotentRequest.objects.filter(user=request.user, key=key).first()
    if stored is not None:
        return _replay(stored, endpoint=endpoint, digest=digest)
    # The files `perform` stores belong to this transaction: whatever fails before it commits (shaping
    # the response, saving it on the key row, the commit itself) must take them back with the rows.
    try:
        with storage.discard_on_error(), transaction.atomic():
            record = _claim(user=request.user, key=key, endpoint=endpoint, digest=digest)
            if record is None:  # a concurrent request with the key committed first: it is the outcome
                stored = IdempotentRequest.objects.filter(user=request.user, key=key).first()
                if stored is None:
                    raise _conflict(
                        "in_progress",
                        _(
                            "The same request is still being processed; retry in a moment with the same Idempotency-Key."
                        ),
                    )
                return _replay(stored, endpoint=endpoint, digest=digest)
            response = perform()
            if not 200 <= response.status_code < 300:
                raise _NotRemembered(response)  # only successes are remembered
            record.status_code = response.status_code
            record.response = response.data
            record.save(update_fields=["status_code", "response"])
    except _NotRemembered as refused:
        return refused.response
    return response


def prune(*, before: datetime) -> int:
    """Forget keys created before `before`; returns how many. One DELETE (no cascades)."""
    deleted, _by_model = IdempotentRequest.objects.filter(created_at__lt=before).delete()
    return deleted
