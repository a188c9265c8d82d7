#!/usr/bin/env python3
"""The floor: what Checkmk's built-in iLert method does per notification.

Import ``requests``, collect the ``NOTIFY_*`` environment into a dict and POST it
as JSON to ``{url}/api/v1/events/checkmk-ext/{key}`` — one request, no outbox,
no rate limit, no parameter parsing beyond the key and the URL. Nothing a
notification script could do is cheaper while still using ``requests``, so our
script is measured against it.

The URL comes from ``NOTIFY_PARAMETER_ILERT_API_URL`` (the built-in method has
it fixed to https://api.ilert.com) and the key from
``NOTIFY_PARAMETER_ILERT_API_KEY`` (``password\\t<key>`` or plain).
Exit codes as Checkmk expects: 0 sent, 1 temporary, 2 permanent.
"""

import os
import sys

import requests


def main() -> int:
    context = {k[7:]: v for k, v in os.environ.items() if k.startswith("NOTIFY_")}
    key = context.get("PARAMETER_ILERT_API_KEY", "").split("\t")[-1]
    base = context.get("PARAMETER_ILERT_API_URL", "https://api.ilert.com").rstrip("/")
    context["PARAMETER_ILERT_API_KEY"] = ""
    try:
        response = requests.post("%s/api/v1/events/checkmk-ext/%s" % (base, key), json=context, timeout=10)
    except requests.RequestException as exc:
        sys.stdout.write("floor: %s\n" % type(exc).__name__)
        return 1
    sys.stdout.write("floor: HTTP %d\n" % response.status_code)
    if response.status_code < 300:
        return 0
    return 1 if response.status_code == 429 or response.status_code >= 500 else 2


if __name__ == "__main__":
    sys.exit(main())
