"""The same request sent at once from several threads, each on its own database connection."""

import threading

from django.db import connection
from rest_framework.test import APIClient


def post_at_once(*, credentials: dict, url: str, payload: dict, times: int) -> list[int]:
    """The status codes of `times` identical POSTs released together."""
    statuses: list[int] = []
    start = threading.Barrier(times)

    def send():
        try:
            client = APIClient()
            client.credentials(**credentials)
            start.wait()
            statuses.append(client.post(url, payload, format="json").status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(times)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses
