"""Push channels behind one small interface: `send(...)` returns on success and raises on failure.

`TransientChannelError`: worth trying again later (timeouts, connection errors, HTTP 5xx and 429, a
platform's rate limit). `ChannelError`: trying again will not help (a bad key or signature, a
refused address); the delivery is recorded as failed at once.
"""


class ChannelError(Exception):
    """The channel refused the message; retrying will not help."""


class TransientChannelError(ChannelError):
    """The channel could not be reached or was busy; retrying later may succeed."""
