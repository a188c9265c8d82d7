"""admin: the commands a site admin runs (``python3 -m cmk_ilert …``).

Job: the command line (``cli``), the outbox's health for the local check and
monitoring (``status``), the heartbeat that tells iLert this site can still
notify (``heartbeat``), the dead letters' list, retry and discard
(``recovery``) and the end-to-end test alert (``selftest``).

May import: every other part of cmk_ilert. Nothing imports it except the
package's ``__main__`` and the notification script's command-line branch.
"""
