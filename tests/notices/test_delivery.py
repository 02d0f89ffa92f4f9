"""Outgoing notices: a webhook receiver started here on 127.0.0.1 gets signed deliveries (HMAC-SHA256 checked), one
that fails once (500) arrives on the retry after its backoff, and one that keeps failing is given up and recorded.
Nothing is sent while the case is written: the queue's worker sends it."""

import hashlib
import hmac
import json
import logging
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.management import call_command
from django.utils import timezone

from notices.models import Delivery, DeliveryState
from notices.services import deliver_due
from tests.cases.helpers import person, report

pytestmark = pytest.mark.django_db

KEY = "webhook-test-key-123"


class Receiver:
    """An HTTP server on a free loopback port answering the scripted statuses in turn (then 200)."""

    def __init__(self, statuses=()):
        self.statuses = list(statuses)
        self.received: list[tuple[dict, bytes, int]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                receiver.received.append((dict(self.headers), body, status))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def verified(headers: dict, body: bytes) -> bool:
    """What a receiver does: recompute HMAC-SHA256 over "<t>." + the raw body with the shared key."""
    fields = dict(part.split("=", 1) for part in headers["X-Gridmgmt-Signature"].split(","))
    expected = hmac.new(KEY.encode(), fields["t"].encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, fields["v1"])


@pytest.fixture
def webhook(settings):
    def configure(receiver: Receiver, tries: int = 4):
        settings.NOTICE_CHANNELS = {"wecom": {"url": receiver.url}}
        settings.NOTICE_WEBHOOK_KEY = KEY
        settings.NOTICE_WEBHOOK_TRIES = tries
        settings.NOTICE_WEBHOOK_BACKOFF_SECONDS = 30

    return configure


def test_a_delivery_that_fails_once_arrives_signed_on_the_retry(geo, webhook):
    with Receiver(statuses=[500]) as receiver:
        webhook(receiver)
        worker = person(grids=[geo.grids["W1"]])
        case = report(geo.point("W1", "N"), "SJ0101", reporter=worker)
        delivery = Delivery.objects.get()
        assert receiver.received == []  # the case is written; nothing has been sent from there
        assert delivery.state == DeliveryState.PENDING and delivery.channel == "wecom"

        now = timezone.now()
        assert deliver_due(now=now) == {"sent": 0, "retry": 1, "failed": 0}
        delivery.refresh_from_db()
        assert (delivery.state, delivery.attempts, delivery.last_status) == (DeliveryState.PENDING, 1, 500)
        assert delivery.next_attempt_at == now + timedelta(seconds=30)
        assert deliver_due(now=now + timedelta(seconds=10)) == {"sent": 0, "retry": 0, "failed": 0}  # backing off

        assert deliver_due(now=now + timedelta(seconds=31)) == {"sent": 1, "retry": 0, "failed": 0}
        delivery.refresh_from_db()
        assert (delivery.state, delivery.attempts, delivery.last_status) == (DeliveryState.SENT, 2, 200)
        assert delivery.delivered_at is not None

    assert [status for _headers, _body, status in receiver.received] == [500, 200]
    for headers, body, _status in receiver.received:
        assert verified(headers, body)
        assert headers["X-Gridmgmt-Delivery"] == str(delivery.pk)
        assert headers["Content-Type"].startswith("application/json")
    headers, body, _status = receiver.received[-1]
    assert not verified(headers, body.replace(case.number.encode(), b"XQ-00000000-00000"))  # tampering shows
    payload = json.loads(body)
    assert payload["notice"]["case"] == case.number and payload["notice"]["kind"] == "new_case"
    assert case.number in payload["notice"]["text"]["zh-hans"] and payload["notice"]["text"]["en"].startswith("New")
    assert payload["recipient"]["unit"]["code"] == geo.offices["W"].code


def test_a_delivery_that_keeps_failing_is_given_up_and_recorded(geo, webhook):
    with Receiver(statuses=[503, 503, 503]) as receiver:
        webhook(receiver, tries=3)
        report(geo.point("W1", "N"), "SJ0101", reporter=person(grids=[geo.grids["W1"]]))
        now = timezone.now()
        results = [deliver_due(now=now + timedelta(hours=hour)) for hour in range(4)]
    assert [r["retry"] for r in results] == [1, 1, 0, 0] and results[2]["failed"] == 1
    delivery = Delivery.objects.get()
    assert (delivery.state, delivery.attempts, delivery.last_status) == (DeliveryState.FAILED, 3, 503)
    assert len(receiver.received) == 3


def test_a_refusal_is_not_retried(geo, webhook):
    with Receiver(statuses=[400]) as receiver:
        webhook(receiver)
        report(geo.point("W1", "N"), "SJ0101", reporter=person(grids=[geo.grids["W1"]]))
        assert deliver_due() == {"sent": 0, "retry": 0, "failed": 1}
    assert Delivery.objects.get().last_status == 400 and len(receiver.received) == 1


def test_an_unreachable_receiver_is_retried(geo, webhook):
    receiver = Receiver()  # never started: nothing listens there once closed
    receiver.server.server_close()
    webhook(receiver)
    report(geo.point("W1", "N"), "SJ0101", reporter=person(grids=[geo.grids["W1"]]))
    assert deliver_due() == {"sent": 0, "retry": 1, "failed": 0}
    assert "network" in Delivery.objects.get().last_error


def test_by_default_notices_go_to_the_log(geo, settings, caplog):
    settings.NOTICE_CHANNELS = {"sms": {"url": ""}, "wecom": {"url": ""}}
    case = report(geo.point("W1", "N"), "SJ0101", reporter=person(grids=[geo.grids["W1"]]))
    assert sorted(Delivery.objects.values_list("channel", flat=True)) == ["sms", "wecom"]
    with caplog.at_level(logging.INFO, logger="notices.delivery"):
        call_command("deliver_notices", "--once")
    assert set(Delivery.objects.values_list("state", flat=True)) == {DeliveryState.SENT}
    assert sum(case.number in record.getMessage() for record in caplog.records) == 2
