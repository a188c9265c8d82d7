"""Resolve password-store ids through the site's own API.

Only ``cmk.utils.password_store.extract`` is used: it exists from 2.0 to 2.5,
returns ``None`` for unknown ids up to 2.3 and raises from 2.4 on
(Checkmk's ``cmk/utils/password_store``; per release in tests/forms/facts/).
Both answers mean "not found" here. The import is lazy, so nothing of ``cmk``
is loaded unless a stored password is configured, and the script also runs
outside a site (then every lookup fails cleanly).
"""

from __future__ import annotations

from typing import Callable, Optional

Lookup = Callable[[str], Optional[str]]


def site_lookup(store_id: str) -> Optional[str]:
    try:
        from cmk.utils import password_store  # type: ignore[import-not-found]  # lazy: on a site only, guarded
    except Exception:  # noqa: BLE001 - not on a site, or a broken site module
        return None
    try:
        value = password_store.extract(store_id)
    except (Exception, SystemExit):  # noqa: BLE001 - 2.4+ raises for unknown ids
        return None
    if isinstance(value, str) and value:
        return value
    return None
