"""outbox: events on disk until iLert has them, delivered in order per alert key.

Job: the durable queue and its on-disk state (``store``: entries, delivered
markers, dead letters, the coalescing journal), the per-key state beside it
(``keyindex``: alert key → host/service for ``sync``; ``links``: the last iLert
alert URL), the client-side rate limit and iLert's 429 pauses (``ratelimit``),
dropping a problem that recovered before its ALERT went out (``coalesce``),
delivering one key's queue (``delivery``) and the site cron's flush of every
due key (``flush``).

May import: ``cmk_ilert.ilert``, ``cmk_ilert.checkmk``, ``cmk_ilert.base``, the
standard library.
"""
