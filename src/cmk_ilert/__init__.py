"""cmk_ilert: Checkmk notifications to iLert.

Pipeline (data flows one way, each step its own module):

    context   (context.py)   NOTIFY_* environment or bulk stdin -> NotificationContext
    settings  (params.py)    PARAMETER_* in every Checkmk 2.0-2.5 shape -> Settings
    event     (mapping.py)   context + settings -> Event (or Ignored)
    request   (wire.py)      Event -> WireRequest for the `api` or `checkmk` endpoint
    delivery  (transport.py, outbox.py, ratelimit.py) -> Outcome
    result    (runner.py, output.py) -> one notify.log line per event + exit code 0/1/2

Only the standard library and `requests` are imported here; `requests` itself is
imported lazily by transport.py so that parsing, dry runs and ignored notification
types never pay for it.
"""

__version__ = "0.1.0"
