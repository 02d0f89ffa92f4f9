"""Send the queued outgoing notices (SMS, WeCom) — the delivery worker.

Run it beside the web server (a systemd service, or `manage.py deliver_notices &`): it sends what is due, sleeps
`--interval` seconds when nothing is, and stops on SIGTERM or Ctrl-C after the delivery in hand. `--once` sends
what is due now and exits (cron, tests). Several may run at once: each claims different rows.
"""

import signal
import time

from django.core.management.base import BaseCommand

from notices.services import deliver_due


class Command(BaseCommand):
    help = "Send queued outgoing notices (SMS, WeCom) with retries; loops unless --once."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="send what is due now, then exit")
        parser.add_argument("--interval", type=float, default=2.0, help="seconds to wait when nothing is due")

    def handle(self, *args, once: bool, interval: float, **options):
        stopping = []
        signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
        while True:
            try:
                counts = deliver_due()
            except KeyboardInterrupt:
                break
            if any(counts.values()) or once:
                self.stdout.write(f"sent {counts['sent']}, to retry {counts['retry']}, failed {counts['failed']}")
            if once or stopping:
                break
            if not any(counts.values()):
                try:
                    time.sleep(interval)
                except KeyboardInterrupt:
                    break
            if stopping:
                break
