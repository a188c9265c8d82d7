"""base: the small toolbox every other part of cmk_ilert may use.

Job: things with no knowledge of Checkmk, iLert or the outbox — exit codes and
error types (``errors``), secrets and their redaction (``secret``), bounded
template rendering and text cleaning (``text``), careful files (``fsutil``:
regular files only, atomic writes, 0600), ``flock`` locks (``locking``), the
one-line printer that never shows a secret and never raises (``output``), and
SHA-256 without OpenSSL's start-up cost (``digest``).

May import: the standard library only (and nothing else of cmk_ilert).
"""
