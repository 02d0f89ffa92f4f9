"""Path converters shared by the URL modules. Import this module before a pattern that uses one."""

import uuid

from django.urls import register_converter


class AnyCaseUUIDConverter:
    """A UUID in either case (iOS writes them upper-case); the view gets a `uuid.UUID`, so every lookup compares
    the canonical value. Django's own `uuid` converter matches lower case only, and an upper-case UUID would be
    a 404 for a record that exists."""

    regex = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"

    def to_python(self, value: str) -> uuid.UUID:
        return uuid.UUID(value)

    def to_url(self, value) -> str:
        return str(value).lower()


register_converter(AnyCaseUUIDConverter, "anycase_uuid")
