"""Outgoing channels for notices (站外通知): SMS and WeCom (企业微信), each a logging channel or a webhook.

A channel takes one delivery's JSON payload and answers an `Outcome`. Which backend each channel uses comes from
settings (`NOTICE_CHANNELS`, from the environment: see notices/README.md):

- `log` (the default) writes the notice to the `notices.delivery` logger and always succeeds;
- `webhook` POSTs the payload as JSON to a URL — an SMS gateway or a WeCom bridge of the operator's — signed with
  HMAC-SHA256 under `NOTICE_WEBHOOK_KEY`: the header `X-Gridmgmt-Signature: t=<unix seconds>,v1=<hex>` where the
  hex is HMAC-SHA256(key, "<t>." + body). The receiver recomputes it over the raw body and refuses an old `t`.
  `X-Gridmgmt-Delivery` carries the delivery's id, the same on every retry, so a receiver can drop repeats.
"""

import hashlib
import hmac
import json
import logging
import time
import urllib.error
import urllib.request
from dataclasses import dataclass

from django.conf import settings

logger = logging.getLogger("notices.delivery")

SIGNATURE_HEADER = "X-Gridmgmt-Signature"
DELIVERY_HEADER = "X-Gridmgmt-Delivery"


@dataclass(frozen=True)
class Outcome:
    ok: bool
    status: int | None = None
    error: str = ""
    retry: bool = False  # worth trying again later (network, timeout, 5xx, 408, 429)


class LoggingChannel:
    def __init__(self, name: str):
        self.name = name

    def send(self, payload: dict, *, delivery_id: int) -> Outcome:
        logger.info("notice via %s (delivery %s): %s", self.name, delivery_id, json.dumps(payload, ensure_ascii=False))
        return Outcome(ok=True)


def signature(key: str, timestamp: int, body: bytes) -> str:
    return hmac.new(key.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()


class WebhookChannel:
    def __init__(self, name: str, *, url: str, key: str, timeout: float):
        self.name, self.url, self.key, self.timeout = name, url, key, timeout

    def send(self, payload: dict, *, delivery_id: int) -> Outcome:
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        timestamp = int(time.time())
        # The URL comes from settings (an http(s) webhook the operator configured), never from a request.
        request = urllib.request.Request(  # noqa: S310
            self.url,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "User-Agent": "gridmgmt-notices",
                SIGNATURE_HEADER: f"t={timestamp},v1={signature(self.key, timestamp, body)}",
                DELIVERY_HEADER: str(delivery_id),
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                return Outcome(ok=True, status=response.status)
        except urllib.error.HTTPError as error:
            status = error.code
            error.close()
            return Outcome(ok=False, status=status, error=f"HTTP {status}", retry=status >= 500 or status in (408, 429))
        except TimeoutError as error:
            return Outcome(ok=False, error=f"timeout: {error}", retry=True)
        except (urllib.error.URLError, OSError) as error:
            return Outcome(ok=False, error=f"network: {getattr(error, 'reason', error)}", retry=True)


def channel(name: str):
    """The configured channel called `name`, or None when it is not configured."""
    config = settings.NOTICE_CHANNELS.get(name)
    if config is None:
        return None
    if config.get("url"):
        return WebhookChannel(
            name, url=config["url"], key=settings.NOTICE_WEBHOOK_KEY, timeout=settings.NOTICE_WEBHOOK_TIMEOUT
        )
    return LoggingChannel(name)
