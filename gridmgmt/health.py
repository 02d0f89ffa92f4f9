import time

from django.db import DatabaseError, connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET


@never_cache
@require_GET
def healthz(request):
    started = time.monotonic()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT postgis_lib_version()")
            postgis = cursor.fetchone()[0]
    except DatabaseError as error:
        # Drop the broken connection so the next request reconnects by itself.
        try:
            connection.close()
        except DatabaseError:
            pass
        reason = str(error).strip().splitlines()[0] if str(error).strip() else error.__class__.__name__
        return JsonResponse({"status": "unavailable", "database": "down", "reason": reason}, status=503)
    return JsonResponse(
        {
            "status": "ok",
            "database": "up",
            "postgis": postgis,
            "latency_ms": round((time.monotonic() - started) * 1000, 1),
        }
    )
