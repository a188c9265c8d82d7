#!/usr/bin/env python3
"""The README's two pictures: the rule form and an alert in iLert, as PNGs in docs/img/.

* ``rule-form.png``: the notification rule's parameters as a new rule shows them. The elements,
  titles, defaults and which ones are ticked come from the package's own legacy form
  (``web/plugins/wato/cmk_ilert.py``), loaded with the Checkmk API doubles the tests use
  (``tests/forms/doubles``, release 2.4); the page around them imitates the Setup GUI's layout.
* ``ilert-alert.png``: what the local iLert stand-in holds after the notification script (run as
  Checkmk runs it, in a simulated site) sent a CPU-load problem of a service with the source type
  API: summary, details, priority, links, labels, custom details, laid out like an alert page.

Neither is a screenshot of a live Checkmk or iLert. Needs Chromium (Debian: ``apt-get install
chromium``) for the headless rendering; run with the dev venv: ``.venv/bin/python
tools/screenshots.py``.
"""

from __future__ import annotations

import argparse
import html
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Dict, List, Tuple

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "standin"), str(REPO / "src"), str(REPO / "tests" / "forms")]

STYLE = """
body { font: 13px/1.45 'DejaVu Sans', Arial, sans-serif; color: #1e262e; background: #f4f6f8; margin: 0; }
.top { background: #15202b; color: #fff; padding: 10px 18px; font-size: 15px; }
.top b { color: #26c281; }
.page { padding: 14px 18px; }
h2 { font-size: 14px; margin: 4px 0 10px; }
table.form { border-collapse: collapse; width: 100%; background: #fff; border: 1px solid #d6dbe0; }
table.form td { border-bottom: 1px solid #e8ebee; padding: 6px 8px; vertical-align: top; }
td.title { width: 40%; }
td.title input { margin-right: 6px; }
.off { color: #7a8591; }
.value input[type=text], .value select, .value textarea { font: inherit; border: 1px solid #b8c0c8;
  padding: 2px 4px; background: #fbfcfd; width: 96%; }
.value textarea { height: 34px; }
.hint { color: #7a8591; font-size: 11px; }
.card { background: #fff; border: 1px solid #d6dbe0; border-radius: 6px; padding: 14px 18px; margin-bottom: 12px; }
.badge { display: inline-block; border-radius: 10px; padding: 1px 9px; font-size: 11px; font-weight: bold;
  margin-right: 6px; color: #fff; }
.pending { background: #e5533d; } .high { background: #b8321f; } .src { background: #4b6cb7; }
.summary { font-size: 16px; font-weight: bold; margin: 8px 0 4px; }
.key { color: #7a8591; font-family: 'DejaVu Sans Mono', monospace; font-size: 12px; }
pre { white-space: pre-wrap; font: 12px/1.4 'DejaVu Sans Mono', monospace; margin: 0; }
table.kv td { padding: 2px 10px 2px 0; vertical-align: top; }
table.kv td:first-child { color: #7a8591; }
a { color: #2a6fdb; }
"""


def _page(title: str, body: str) -> str:
    return "<!doctype html><meta charset=utf-8><title>%s</title><style>%s</style>%s" % (
        html.escape(title), STYLE, body)


# --- the rule form --------------------------------------------------------------------------

def _widget(key: str, vs: Any) -> str:
    name = type(vs).__name__
    default = vs.default()
    if key == "ilert_api_key":
        return ('<select style="width:45%"><option>Password from store</option></select> '
                '<select style="width:45%"><option>ilert</option></select>')
    raw = getattr(vs, "_choices", None)
    if raw is not None and not isinstance(default, bool):
        titles = dict((c[0], c[1]) for c in (raw() if callable(raw) else raw))
        return "<select><option>%s</option></select>" % html.escape(str(titles.get(default, default)))
    if default is True or name == "FixedValue":
        label = getattr(vs, "_totext", None) or "on"
        return '<input type=checkbox checked> %s' % html.escape(str(label))
    if isinstance(default, bool):
        return '<input type=checkbox%s>' % (" checked" if default else "")
    if isinstance(default, int):
        unit = getattr(vs, "_unit", "") or ""
        return '<input type=text value="%d" style="width:60px"> %s' % (default, html.escape(str(unit)))
    if isinstance(default, str) and len(default) > 60:
        return "<textarea>%s</textarea>" % html.escape(default)
    if isinstance(default, str):
        return '<input type=text value="%s">' % html.escape(default)
    return '<span class=hint>%s</span>' % html.escape(repr(default)[:80])


def form_html() -> str:
    from doubles import legacy_form

    with legacy_form("2.4") as load:
        spec = load.spec()
        ticked = set(spec._required_keys) | set(spec._default_keys)
        rows = []
        for key, vs in spec.elements():
            inner = getattr(vs, "_valuespec", None)  # a Transform shows its inner valuespec's title
            title = html.escape(str(vs.title() or (inner.title() if inner is not None else None) or key))
            if key in ticked:
                rows.append('<tr><td class=title><input type=checkbox checked disabled>%s</td>'
                            '<td class=value>%s</td></tr>' % (title, _widget(key, vs)))
            else:
                rows.append('<tr><td class="title off"><input type=checkbox>%s</td><td></td></tr>' % title)
        heading = html.escape(str(spec.title()))
    body = ('<div class=top><b>Checkmk</b> &nbsp; Setup › Notifications › Add notification rule</div>'
            '<div class=page><h2>Notification method: iLert (cmk_ilert)</h2>'
            '<table class=form><tr><td colspan=2><b>%s</b></td></tr>%s</table>'
            '<p class=hint>A new rule: the integration key and the alert source type (API) are set; every '
            'other setting has a default and is ticked only to change it.</p></div>') % (heading, "".join(rows))
    return _page("iLert (cmk_ilert) rule", body)


# --- an alert in iLert ----------------------------------------------------------------------

def alert_json() -> Dict[str, Any]:
    from ilert_standin import StandIn
    from tests.support.contexts import api_params, service
    from tests.support.site import KEY_API, FakeSite

    with tempfile.TemporaryDirectory() as tmp, StandIn(keys=[KEY_API]) as standin:
        site = FakeSite(Path(tmp) / "site", site="prod")
        params = api_params(standin.url, url_prefix_automatic="https")
        ctx = service("PROBLEM", params, OMD_SITE="prod", HOSTNAME="web01", HOSTALIAS="Web server 01",
                      HOSTADDRESS="10.0.0.11", MONITORING_HOST="cmk.example.net",
                      HOSTNOTESURL="https://wiki.example.net/runbooks/web01")
        run = site.run(ctx)
        if run.returncode != 0:
            raise SystemExit("the notification was not delivered: %s" % run.output)
        alerts = standin.alerts()
    if len(alerts) != 1:
        raise SystemExit("expected one alert in the stand-in, got %d" % len(alerts))
    return alerts[0]


def _kv(pairs: List[Tuple[str, Any]]) -> str:
    return "<table class=kv>%s</table>" % "".join(
        "<tr><td>%s</td><td>%s</td></tr>" % (html.escape(str(k)), html.escape(str(v))) for k, v in pairs)


def alert_html(alert: Dict[str, Any]) -> str:
    links = "".join('<li><a href="#">%s</a> <span class=hint>%s</span></li>' % (
        html.escape(str(link.get("text", ""))), html.escape(str(link.get("href", ""))[:70]))
        for link in alert.get("links") or [])
    details = alert.get("customDetails") or {}
    labels = alert.get("labels") or {}
    body = ('<div class=top><b>iLert</b> &nbsp; Alerts › #%s</div><div class=page>'
            '<div class=card><span class="badge pending">%s</span><span class="badge high">%s</span>'
            '<span class="badge src">alert source type API</span>'
            '<div class=summary>%s</div><div class=key>alert key %s</div></div>'
            '<div class=card><h2>Details</h2><pre>%s</pre></div>'
            '<div class=card><h2>Links</h2><ul>%s</ul></div>'
            '<div class=card><h2>Labels</h2>%s<h2 style="margin-top:10px">Custom details</h2>%s</div>'
            '<p class=hint>Drawn from what the local iLert stand-in received from the installed script '
            '(tools/screenshots.py); not a screenshot of iLert.</p></div>') % (
        html.escape(str(alert.get("id"))), html.escape(str(alert.get("status"))),
        html.escape(str(alert.get("priority") or "")), html.escape(str(alert.get("summary"))),
        html.escape(str(alert.get("alertKey"))), html.escape(str(alert.get("details") or "")), links,
        _kv(sorted(labels.items())), _kv([(k, v) for k, v in details.items() if k != "inventory"][:12]))
    return _page("iLert alert", body)


# --- rendering -------------------------------------------------------------------------------

def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    raise SystemExit("Chromium not found: apt-get install chromium")


def render(page: str, out: Path, size: Tuple[int, int]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "page.html"
        source.write_text(page, encoding="utf-8")
        subprocess.run([chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                        "--user-data-dir=%s" % (Path(tmp) / "profile"), "--window-size=%d,%d" % size,
                        "--screenshot=%s" % out, source.as_uri()],
                       check=True, capture_output=True, timeout=120)
    print("%s (%d bytes)" % (out, out.stat().st_size))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "img")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    render(form_html(), args.out / "rule-form.png", (760, 860))
    render(alert_html(alert_json()), args.out / "ilert-alert.png", (760, 860))
    return 0


if __name__ == "__main__":
    sys.exit(main())
