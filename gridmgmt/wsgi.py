import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gridmgmt.settings")
application = get_wsgi_application()

from gridmgmt import dblimits  # noqa: E402 - needs the settings loaded above

dblimits.enable()  # web requests only: management commands run without these limits
