"""checkmk: what this package reads from Checkmk, in every release 2.0 – 2.5.

Job: the notification context (``context``: ``NOTIFY_*`` variables or the bulk
format on stdin), the rule's parameters in every shape the GUI forms store
(``params`` → ``Settings``), the site's password store (``password_store``),
the site's paths (``paths``: state directory, key files) and Livestatus
(``livestatus``: queries and external commands over the site's socket).

May import: ``cmk_ilert.base`` and the standard library (``cmk.*`` only in
``password_store``, lazily and guarded).
"""
