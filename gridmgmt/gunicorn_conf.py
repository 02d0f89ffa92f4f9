"""gunicorn settings for `make run` (`--config gridmgmt/gunicorn_conf.py`): an access log without personal data.

Searches carry what users type — full ID numbers, phones, names — in the query string, and the Referer repeats
the page's query. The access log therefore keeps the path only, never a query string or a Referer, and masks any
run of digits in the path that could be an ID number (15 or 18 characters) or a mobile phone (11 digits), even
when an operator puts %(r)s, %(q)s or %(f)s back into the format.
"""

import re

from gunicorn.glogging import Logger

PERSONAL_NUMBER = re.compile(r"(?<![0-9])(?:[0-9]{17}[0-9Xx]|[0-9]{15}|1[3-9][0-9]{9})(?![0-9])")

access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s "%(a)s" %(M)sms'


def masked(text: str) -> str:
    return PERSONAL_NUMBER.sub(lambda number: "*" * len(number.group()), text or "")


class AccessLogWithoutQueries(Logger):
    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        path = masked(environ.get("PATH_INFO", ""))
        referer = masked(environ.get("HTTP_REFERER", "-").split("?", 1)[0])
        atoms.update(
            {
                "U": path,
                "r": f"{environ['REQUEST_METHOD']} {path} {environ['SERVER_PROTOCOL']}",
                "q": "-",
                "f": referer,
                "{referer}i": referer,
            }
        )
        return atoms


logger_class = AccessLogWithoutQueries
