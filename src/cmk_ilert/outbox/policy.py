"""The outbox's queue policy in numbers: how long markers and entries live and
how retries back off. Pure functions of an entry and the clock."""

from __future__ import annotations

from .entry import Entry

DEDUP_SECONDS = 48 * 3600
MAX_AGE_SECONDS = 24 * 3600
BACKOFF_FIRST = 30.0
BACKOFF_MAX = 600.0
TMP_STALE_SECONDS = 600.0


def backoff_delay(attempts: int) -> float:
    return float(min(BACKOFF_FIRST * (2 ** min(max(attempts, 1) - 1, 20)), BACKOFF_MAX))


def due_at(entry: Entry, now: float) -> float:
    """When the entry may be tried again. A time further ahead than the longest
    backoff (the clock was stepped back) is clamped to it."""
    return min(entry.next_attempt, now + BACKOFF_MAX)


def expired(entry: Entry, now: float, max_age: float = MAX_AGE_SECONDS) -> bool:
    return entry.created > 0 and now - entry.created > max_age
