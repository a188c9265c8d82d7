"""cmk_ilert: Checkmk notifications to iLert.

Pipeline (data flows one way, each step its own module):

    context   (checkmk/context.py)  NOTIFY_* environment or bulk stdin -> NotificationContext
    settings  (checkmk/params.py)   PARAMETER_* in every Checkmk 2.0-2.5 shape -> Settings
    event     (notify/mapping.py)   context + settings -> Event (ilert/event.py) or Ignored
    request   (ilert/wire.py)       Event -> WireRequest for the `api` or `checkmk` endpoint
    delivery  (outbox/, ilert/transport.py) -> Outcome
    result    (notify/run.py, base/output.py) -> one notify.log line per event + exit code 0/1/2

Subpackages, from the top layer down; a layer imports only the layers below it
(checked by import-linter, see setup.cfg and docs/architecture.md):

    admin    the commands an admin runs (cli, status, heartbeat, selftest)
    sync     iLert -> Checkmk through Livestatus
    notify   the notification pipeline Checkmk runs
    outbox   durable queue, rate limit, coalescing, delivery, flush
    ilert    iLert's event, wire formats, HTTP transport, alerts API
    checkmk  context, rule parameters, password store, paths, Livestatus
    base     errors, secrets, text, careful files, locks, output, digest

Only the standard library and `requests` are imported here; `requests` itself is
imported lazily by ilert/transport.py so that parsing, dry runs and ignored
notification types never pay for it.
"""

__version__ = "0.1.0"
