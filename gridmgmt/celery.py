"""The task queue: Celery on Redis (docs/scaling.md). `make run` starts a worker and the scheduler (beat) beside
the web server; each can run alone (`make worker`, `make beat`) on its own machine.

Tasks are acknowledged after they ran (a worker killed mid-task leaves its message to be delivered again) and
are written to be run again safely; the schedule is CELERY_BEAT_SCHEDULE in the settings.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gridmgmt.settings")

app = Celery("gridmgmt")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
