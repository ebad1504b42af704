"""Exceptions that carry a one-line reason meant for the person who caused the problem.

Every failure the sync path can meet ends as one of these, so the command line and the
status screen can show ``str(exc)`` as it is, without a traceback.
"""

from __future__ import annotations


class SyncError(Exception):
    """Base class: ``str(self)`` is a single line a technician can act on."""

    def __init__(self, reason: str) -> None:
        # Keep the message to one line whatever the caller passed in.
        super().__init__(" ".join(str(reason).split()))

    @property
    def reason(self) -> str:
        return str(self)


class FeedRejected(SyncError):
    """The feed itself is unacceptable (malformed, badly signed, replayed)."""


class FetchError(SyncError):
    """The feed or a medium could not be downloaded (network, HTTP status, size cap)."""


class MediaError(SyncError):
    """A medium failed verification (hash, size, type, pixel count)."""


class StoreError(SyncError):
    """The offline store could not be read or written (disk full, read-only, corrupt)."""
