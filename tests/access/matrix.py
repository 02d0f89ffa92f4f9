"""The access matrix as a function: classify every URL pattern, call each as every role, return the problems.

Problems are plain sentences naming the endpoint, the role and what went wrong:
- an URL pattern with no entry in endpoints.ENDPOINTS (or an entry whose pattern is gone);
- a status other than the expected one (a 500 is always wrong);
- a leak: (1) a canary of an object outside the caller's scope in any response to a scoped role; (2) a resident's
  name, masked ID number or masked phone in any response to a manager or to an anonymous caller; (3) a full ID
  number (18 characters with a valid GB 11643 check digit) or a full phone number in any response but the reveal
  endpoint's own 200, for a role allowed to reveal;
- an in-scope canary that a call says it must show and did not, or anything a call says it must hide.

Every call runs in a savepoint that is rolled back, so writes (cases taken, transitions, reports, patrols) leave the
world as it was for the next call.
"""

import html
import io
import json
import re
import zipfile
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve

from grids.pii import id_check_digit
from tests.access.endpoints import ADMIN_CALLS, ENDPOINTS, SKIPPED_PREFIXES, Call, Endpoint
from tests.access.world import ROLES, SCOPED_ROLES, World

ID_NUMBER = re.compile(
    r"(?<![0-9])[1-9][0-9]{5}(?:18|19|20)[0-9]{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])[0-9]{3}[0-9Xx](?![0-9])"
)
MOBILE = re.compile(r"(?<![0-9])1[3-9][0-9]{9}(?![0-9])")
UNICODE_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")


def _join(prefix: str, route: str) -> str:
    """As Django joins routes into ResolverMatch.route: after a non-empty prefix, a regex's leading ^ is dropped."""
    return prefix + route.removeprefix("^") if prefix else route


def url_routes(urlconf=None) -> list[str]:
    """Every route of the URL configuration (resolvers walked recursively), minus the skipped prefixes."""
    found: list[str] = []

    def walk(patterns, prefix: str) -> None:
        for pattern in patterns:
            route = _join(prefix, str(pattern.pattern))
            if route.startswith(SKIPPED_PREFIXES):
                continue
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, route)
            elif isinstance(pattern, URLPattern) and route not in found:
                found.append(route)

    walk(get_resolver(urlconf).url_patterns, "")
    return found


def classification_problems(routes: list[str], table: dict[str, Endpoint]) -> list[str]:
    problems = [
        f"unclassified endpoint {route!r}: add it to tests/access/endpoints.py (how to call it, what each role gets)"
        for route in routes
        if route not in table
    ]
    problems += [
        f"classified endpoint {route!r} is no longer in the URL configuration: remove it from tests/access/endpoints.py"
        for route in table
        if route not in routes
    ]
    return problems


# --- Reading a response as text ------------------------------------------------------------------------------------


def body_bytes(response) -> bytes:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)  # the test client closes the response once it is read
    return response.content


def payload_text(response) -> str:
    """Everything a response carries, as text that canaries can be looked for in: headers, the body (zip members
    of xlsx files unpacked), with JSON \\u escapes, HTML/XML entities and percent-encoding undone."""
    data = body_bytes(response)
    parts = [f"{name}: {value}" for name, value in response.items()]
    if data[:4] == b"PK\x03\x04":
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            parts += [archive.read(name).decode("utf-8", "replace") for name in archive.namelist()]
    else:
        parts.append(data.decode("utf-8", "replace"))
    text = "\n".join(parts)
    text = UNICODE_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)
    return "\n".join((text, html.unescape(text), unquote(text)))


def full_id_numbers(text: str) -> set[str]:
    return {match for match in ID_NUMBER.findall(text) if id_check_digit(match[:17]) == match[17].upper()}


# --- Running ----------------------------------------------------------------------------------------------------


@dataclass
class Result:
    problems: list[str] = field(default_factory=list)
    calls: int = 0
    endpoints: int = 0
    roles: int = len(ROLES)
    leaks: int = 0

    def summary(self) -> str:
        return (
            f"access matrix: {self.roles} roles × {self.endpoints} endpoints = {self.calls} calls, "
            f"{self.leaks} leaks, {len(self.problems)} problems"
        )


def clients_for(world: World) -> dict[str, Client]:
    clients = {"anonymous": Client()}
    for role, user in world.users.items():
        client = Client()
        client.force_login(user)
        clients[role] = client
    return clients


def fresh_client(world: World, role: str) -> Client:
    client = Client()
    if role != "anonymous":
        client.force_login(world.users[role])
    return client


def send(client: Client, method: str, path: str, body, encoding: str):
    if method == "GET":
        return client.get(path)
    if method == "DELETE":
        return client.delete(path)
    if encoding == "multipart":
        return client.generic(method, path) if body is None else getattr(client, method.lower())(path, body)
    return client.generic(method, path, json.dumps(body or {}), content_type="application/json")


def leaks_in(text: str, *, world: World, role: str, may_reveal: bool) -> list[str]:
    found = []
    for canary in world.canaries:
        if canary.text not in text:
            continue
        if canary.kind == "resident" and role in ("manager", "anonymous"):
            found.append(f"resident data {canary.text!r} shown to a {role}")
        elif role in SCOPED_ROLES and not world.may_see(role, canary):
            found.append(f"out-of-scope {canary.kind} canary {canary.text!r}")
        elif role == "anonymous":
            found.append(f"{canary.kind} canary {canary.text!r} shown to an anonymous caller")
    if not may_reveal:
        numbers = full_id_numbers(text) | {value for value in world.id_numbers if value in text}
        found += [f"full ID number {number}" for number in sorted(numbers)]
        phones = set(MOBILE.findall(text)) | {value for value in world.phones if value in text}
        found += [f"full phone number {phone}" for phone in sorted(phones)]
    return found


def check_call(world: World, client: Client, route: str, call: Call, role: str, scope: str, urlconf=None):
    """Make one call; (number of leaks, problems)."""
    path = call.path(world, role, scope)
    method = call.method
    label = f"{method} {path} [{route}] as {role} ({scope})"
    problems: list[str] = []
    match = resolve(urlsplit(path).path, urlconf)
    if route and match.route != route:
        problems.append(f"{label}: resolves to {match.route!r}, not to the endpoint it is listed under")
    body = call.body(world, role, scope) if call.body else None
    with transaction.atomic():
        response = send(client, method, path, body, call.encoding)
        text = payload_text(response)
        transaction.set_rollback(True)
    expected = call.expect[role][0 if scope == "in" else 1]
    acceptable = expected if isinstance(expected, (set, frozenset)) else {expected}
    if response.status_code not in acceptable:
        detail = text.split("\n", 1)[0][:200] if response.status_code >= 400 else ""
        problems.append(f"{label}: status {response.status_code}, expected {expected} {detail}".rstrip())
    # Full ID numbers and phones only in the reveal's own 200, for a role allowed to reveal, when a 200 was due.
    may_reveal = role in call.reveals and response.status_code == 200 and 200 in acceptable
    leaks = leaks_in(text, world=world, role=role, may_reveal=may_reveal)
    problems += [f"LEAK {label}: {leak}" for leak in leaks]
    if call.hides:
        shown = [item for item in call.hides(world, role, scope) if item in text]
        if shown:
            problems.append(f"{label}: shows what this role may not see: {shown}")
    if call.shows and response.status_code == 200 and scope == "in":
        missing = [canary for canary in call.shows(world, role, scope) if canary not in text]
        if missing:
            problems.append(f"{label}: does not show what this role may see: {missing}")
    return len(leaks), problems


def run_matrix(
    world: World, table: dict[str, Endpoint] | None = None, *, urlconf=None, only: set[str] | None = None
) -> Result:
    """Classify every URL pattern and call every classified endpoint as every role, in and out of scope."""
    table = ENDPOINTS if table is None else table
    result = Result()
    routes = url_routes(urlconf)
    result.problems += classification_problems(routes, table)
    clients = clients_for(world)
    for route in routes:
        if route not in table or (only is not None and route not in only):
            continue
        result.endpoints += 1
        for call in table[route].calls:
            for role in ROLES:
                for scope in call.scopes:
                    client = fresh_client(world, role) if call.fresh_session else clients[role]
                    leaks, problems = check_call(world, client, route, call, role, scope, urlconf)
                    result.calls += 1
                    result.leaks += leaks
                    result.problems += problems
    if only is None:
        for call in ADMIN_CALLS:
            for role in ROLES:
                leaks, problems = check_call(world, clients[role], "", call, role, "in", urlconf)
                result.calls += 1
                result.leaks += leaks
                result.problems += problems
    return result
