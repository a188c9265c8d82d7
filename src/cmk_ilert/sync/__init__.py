"""sync: what responders do in iLert, reflected in Checkmk through Livestatus.

Job: the ``sync`` command (``command``: key, lock, time bound; ``options``: its
arguments), one bounded run that lists this site's alerts in iLert (``run``),
finds the Checkmk object of each alert key (``lookup``) and acknowledges or
<<<<<<< HEAD
comments it (``actions``), mirrors responders' comments (``comments``) and
removes its own acknowledgement of an alert pending again (``reopen``; both
guarded by ``guarded``), with its state between runs (``state``: what was
done, so nothing is applied twice).
=======
comments it (``actions``), with its state between runs (``state``: what was
done, so nothing is applied twice); with ``--reconcile`` it mends drift between
iLert and Checkmk through the outbox (``reconcile``, ``livestate``,
``drift_events``, ``reconcile_state``).
>>>>>>> reconcile

May import: ``cmk_ilert.notify`` (the alert-key scheme), ``cmk_ilert.outbox``,
``cmk_ilert.ilert``, ``cmk_ilert.checkmk``, ``cmk_ilert.base``, the standard
library.
"""
