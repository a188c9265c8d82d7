"""Benchmarks of cmk_ilert against the local iLert stand-in (``make bench``; see README.md)."""
