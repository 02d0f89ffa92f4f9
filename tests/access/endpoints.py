"""THE classification: every URL pattern of the project, how to call it, and what each role must get.

Keys are the routes as Django reports them (`ResolverMatch.route`: the patterns joined, a regex's leading ^
dropped). A pattern missing here fails tests/access/test_access_matrix.py by name; so does an entry here whose
pattern is gone. Skipped on purpose: /admin/ (Django's own permission system; checked separately in ADMIN_CALLS),
/i18n/ (the language switch), static and media files.

Each call is made as every role in world.ROLES, once per scope it lists: "in" with an object inside the caller's
scope, "out" with one outside it (see world.World for which objects those are). `expect` gives the status per role
as one code (both scopes), a (in, out) pair, or a set of acceptable codes. A call may name canaries it must show
(`shows`), so that a 200 that hides everything does not pass as scoped. Writes are rolled back after every call.

Codes: 401 = not logged in (DRF), 302 = sent to the login page (pages), 403 = logged in but not this role or not
this object's scope where the view says so, 404 = an object the caller may not see (not told apart from missing).
"""

import math
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from django.utils import timezone

from tests.access.world import OPEN311_KEY, POLICE_CATEGORY, ROLES, STREET_OFFICE_CATEGORY, World

SKIPPED_PREFIXES = ("admin/", "i18n/", "static/", "media/")

Expect = dict[str, tuple[object, object]]


def expect(default, **roles) -> Expect:
    """Per role (anonymous, worker, dispatcher, police, centre, manager, admin): code, (in, out) or a set of codes."""
    unknown = set(roles) - set(ROLES)
    assert not unknown, unknown
    table = {}
    for role in ROLES:
        value = roles.get(role, default)
        table[role] = value if isinstance(value, tuple) else (value, value)
    return table


PUBLIC = expect(200)
LOGGED_IN = expect(200, anonymous=401)  # a DRF view any account may use
PAGE = expect(200, anonymous=302)  # a page any account may open; anonymous is sent to log in
# An object: one inside the caller's scope, or one it may not see (404, as if missing).
SCOPED_READ = expect((200, 404), anonymous=401, centre=200, admin=200)
WORKERS_ONLY = expect(403, anonymous=401, worker=200)
DASHBOARD = expect(403, anonymous=401, manager=200, admin=200)
EXPORTERS = expect(403, anonymous=401, manager=200, admin=200)

# Desks of the case's units and command centres; others who see the case are refused, the rest do not see it.
DESK_PHOTO_UPLOAD = expect((403, 404), anonymous=401, dispatcher=(400, 404), police=(400, 404), centre=400, admin=400)

Path = Callable[[World, str, str], str]  # (world, role, scope) -> path with query string


@dataclass(frozen=True)
class Call:
    path: Path
    expect: Expect
    method: str = "GET"
    scopes: tuple[str, ...] = ("in",)
    body: Callable[[World, str, str], object] | None = None
    encoding: str = "json"  # json | multipart
    shows: Callable[[World, str, str], list[str]] | None = None  # what a 200 must contain (in scope)
    hides: Callable[[World, str, str], list[str]] | None = None  # what no response may contain, beyond the canaries
    fresh_session: bool = False  # the call ends the session (logout): use a throwaway login
    reveals: frozenset = frozenset()  # roles whose 200 may carry full ID numbers and phones (the reveal itself)
    note: str = ""


@dataclass(frozen=True)
class Endpoint:
    calls: list[Call] = field(default_factory=list)


def const(path: str) -> Path:
    return lambda w, role, scope: path


def tile_of(point, zoom: int = 16) -> tuple[int, int, int]:
    n = 2**zoom
    x = int((point.x + 180.0) / 360.0 * n)
    y = int((1.0 - math.asinh(math.tan(math.radians(point.y))) / math.pi) / 2.0 * n)
    return zoom, x, y


def visible_case_texts(w: World, role: str, *keys: str) -> list[str]:
    keys = keys or tuple(w.cases)
    return [w.canaries_of(w.cases[key])[0] for key in keys if w.may_see_case(role, w.cases[key])]


def residents_shown(w: World, role: str, scope: str) -> list[str]:
    people = w.people["W1N" if scope == "in" else "E2S"]
    return [person.name for person in people if w.may_see_resident(role, person)]


def point_of(w: World, quadrant: str = "W1N"):
    return w.buildings[quadrant].footprint.centroid


def report_body(w: World, role: str, scope: str) -> dict:
    point = point_of(w)
    return {
        "client_uuid": str(uuid.uuid4()),
        "category": STREET_OFFICE_CATEGORY,
        "description": "矩阵测试上报",
        "location": {"type": "Point", "coordinates": [point.x + 0.001, point.y - 0.003]},
        "captured_at": (timezone.now() - timedelta(minutes=5)).isoformat(),
    }


def registry_change_body(w: World, role: str, scope: str) -> dict:
    return {
        "client_uuid": str(uuid.uuid4()),
        "kind": "add_household",
        "building": w.building(role, scope).pk,
        "proposed": {"floor": 3, "room": "301"},
        "captured_at": (timezone.now() - timedelta(minutes=5)).isoformat(),
    }


def patrol_body(w: World, role: str, scope: str) -> dict:
    point = point_of(w)
    now = timezone.now()
    return {
        "client_uuid": str(uuid.uuid4()),
        "track": {"type": "LineString", "coordinates": [[point.x, point.y], [point.x + 0.001, point.y + 0.001]]},
        "started_at": (now - timedelta(hours=1)).isoformat(),
        "ended_at": now.isoformat(),
    }


def desk_case_body(w: World, role: str, scope: str) -> dict:
    point = point_of(w)
    return {
        "category": STREET_OFFICE_CATEGORY,
        "lon": point.x - 0.001,
        "lat": point.y - 0.004,
        "description": "窗口受理：矩阵测试",
    }


def transition_body(w: World, role: str, scope: str) -> dict:
    return {"action": "register", "version": w.case(role, scope).version, "note": "矩阵测试"}


def open311_body(w: World, role: str, scope: str) -> dict:
    point = point_of(w)
    return {
        "api_key": OPEN311_KEY,
        "service_code": STREET_OFFICE_CATEGORY,
        "lat": point.y - 0.002,
        "long": point.x + 0.002,
        "description": "矩阵测试公开诉求",
    }


def tile_path(w: World, role: str, scope: str) -> str:
    z, x, y = tile_of(point_of(w, "W1N" if scope == "in" else "E2S"))
    return f"/api/v1/tiles/buildings/{z}/{x}/{y}.pbf"


def bbox(w: World) -> str:
    x0, y0, x1, y1 = w.geo.district.boundary.extent
    return f"{x0},{y0},{x1},{y1}"


def other_street_for_manager(w: World, role: str, scope: str) -> list[str]:
    """The street manager's figures never name the other street (nor its office, 东街道办事处)."""
    return [w.geo.streets["E"].name] if role == "manager" else []


def region_stats(level: str, plural: str) -> Endpoint:
    def region(w: World, scope: str):
        if level == "district":
            return w.geo.district
        quadrant = "W1" if scope == "in" else "E2"
        if level == "street":
            return w.geo.streets[quadrant[0]]
        return {"community": w.geo.communities, "grid": w.geo.grids}[level][quadrant]

    if level == "district":
        scopes, expected = ("in",), expect(200, anonymous=401, manager=403)
    else:
        scopes, expected = ("in", "out"), expect(200, anonymous=401, manager=(200, 403))
    return Endpoint(
        [
            Call(
                lambda w, role, scope: f"/api/v1/{plural}/{region(w, scope).pk}/stats",
                expected,
                scopes=scopes,
                note="figures only (counts by residency, sex, care tag): any account, any region, except that a "
                "street manager gets their street and what lies in it",
            )
        ]
    )


def layer(name: str) -> Endpoint:
    return Endpoint([Call(const(f"/api/v1/{name}"), LOGGED_IN, note="geometry, codes, names, addresses: no people")])


TOKEN_CALLS = [
    Call(const("/api/mobile/v1/auth/token"), expect(400), method="POST", body=lambda w, r, s: {}),
    Call(
        const("/api/mobile/v1/auth/token"),
        expect(401),
        method="DELETE",
        note="only with the token to revoke (these sessions carry none)",
    ),
]


def export_job(w: World, role: str, scope: str) -> str:
    """An export job of the caller ("in") or of another account ("out"), queued."""
    from jobs.models import ExportJob

    owner = w.users.get(role) if scope == "in" else None
    if owner is None:
        owner = w.users["manager"] if role != "manager" else w.users["admin"]
    job = ExportJob.objects.create(requested_by=owner, role="manager", layer="grids", fmt="csv")
    return str(job.pk).upper()  # phones write UUIDs upper-case too


ENDPOINTS: dict[str, Endpoint] = {
    # --- site ----------------------------------------------------------------------------------------------------
    "healthz": Endpoint([Call(const("/healthz"), PUBLIC)]),
    "": Endpoint([Call(const("/"), expect(302))]),
    "logout/": Endpoint(
        [
            Call(const("/logout/"), expect(405)),
            Call(const("/logout/"), expect(302), method="POST", fresh_session=True),
        ]
    ),
    "map/": Endpoint([Call(const("/map/"), PAGE)]),
    "dashboard/": Endpoint([Call(const("/dashboard/"), expect(403, anonymous=302, manager=200, admin=200))]),
    "dashboard/assessment": Endpoint(
        [Call(const("/dashboard/assessment"), expect(403, anonymous=302, manager=200, admin=200))]
    ),
    "public/": Endpoint([Call(const("/public/"), PUBLIC)]),
    # The phone app's shell, manifest and service worker hold no data: the app signs in with a handheld token.
    "m/": Endpoint([Call(const("/m/"), PUBLIC)]),
    "m/manifest.webmanifest": Endpoint([Call(const("/m/manifest.webmanifest"), PUBLIC)]),
    "m/sw.js": Endpoint([Call(const("/m/sw.js"), PUBLIC)]),
    "api/schema": Endpoint([Call(const("/api/schema"), LOGGED_IN)]),
    "api/docs": Endpoint([Call(const("/api/docs"), LOGGED_IN)]),
    # --- accounts (django.contrib.auth) --------------------------------------------------------------------------
    "accounts/login/": Endpoint([Call(const("/accounts/login/"), PUBLIC)]),
    "accounts/logout/": Endpoint(
        [
            Call(const("/accounts/logout/"), expect(405)),
            Call(const("/accounts/logout/"), expect(200), method="POST", fresh_session=True, note="logged-out page"),
        ]
    ),
    "accounts/password_change/": Endpoint([Call(const("/accounts/password_change/"), PAGE)]),
    "accounts/password_change/done/": Endpoint([Call(const("/accounts/password_change/done/"), PAGE)]),
    "accounts/password_reset/": Endpoint([Call(const("/accounts/password_reset/"), PUBLIC)]),
    "accounts/password_reset/done/": Endpoint([Call(const("/accounts/password_reset/done/"), PUBLIC)]),
    "accounts/reset/<uidb64>/<token>/": Endpoint(
        [Call(const("/accounts/reset/MQ/set-password/"), PUBLIC, note="an invalid link: the page says so")]
    ),
    "accounts/reset/done/": Endpoint([Call(const("/accounts/reset/done/"), PUBLIC)]),
    # --- registry API (grids) ------------------------------------------------------------------------------------
    "api/v1/auth/token": Endpoint(
        [Call(const("/api/v1/auth/token"), call.expect, call.method, body=call.body) for call in TOKEN_CALLS]
    ),
    "api/v1/locate": Endpoint(
        [Call(lambda w, r, s: f"/api/v1/locate?lon={point_of(w).x}&lat={point_of(w).y}", LOGGED_IN)]
    ),
    "api/v1/buildings/<int:pk>/households": Endpoint(
        [
            Call(
                lambda w, role, scope: f"/api/v1/buildings/{w.building(role, scope).pk}/households",
                expect((200, 403), anonymous=401, centre=200, manager=403, admin=200),
                scopes=("in", "out"),
                shows=residents_shown,
            )
        ]
    ),
    "api/v1/people/<int:pk>/reveal": Endpoint(
        [
            Call(
                lambda w, role, scope: f"/api/v1/people/{w.person(role, scope).pk}/reveal",
                expect(403, anonymous=401, dispatcher=(200, 403), admin=200),
                method="POST",
                scopes=("in", "out"),
                body=lambda w, r, s: {"fields": ["id_number", "phone"], "reason": "核实身份：矩阵测试"},
                reveals=frozenset({"dispatcher", "admin"}),
                note="worker and police lack the permission; the manager holds it and is refused all the same",
            )
        ]
    ),
    "api/v1/streets": layer("streets"),
    "api/v1/communities": layer("communities"),
    "api/v1/grids": layer("grids"),
    "api/v1/buildings": layer("buildings"),
    "api/v1/districts/<int:pk>/stats": region_stats("district", "districts"),
    "api/v1/streets/<int:pk>/stats": region_stats("street", "streets"),
    "api/v1/communities/<int:pk>/stats": region_stats("community", "communities"),
    "api/v1/grids/<int:pk>/stats": region_stats("grid", "grids"),
    "api/v1/export/<slug:layer>.<slug:fmt>": Endpoint(
        [
            Call(const("/api/v1/export/persons.csv"), expect(403, anonymous=401, admin=200), note="masked only"),
            Call(const("/api/v1/export/households.csv"), expect(403, anonymous=401, admin=200), note="no flats"),
            Call(
                const("/api/v1/export/cases.xlsx"),
                EXPORTERS,
                shows=lambda w, role, scope: visible_case_texts(w, role),
                note="a street manager gets their street's cases",
            ),
            Call(const("/api/v1/export/buildings.geojson"), EXPORTERS),
        ]
    ),
    "api/v1/export-jobs": Endpoint(
        [
            Call(const("/api/v1/export-jobs"), LOGGED_IN, note="each account lists its own jobs"),
            Call(
                const("/api/v1/export-jobs"),
                expect(403, anonymous=401, manager=202, admin=202),
                method="POST",
                body=lambda w, role, scope: {"layer": "grids", "format": "csv"},
            ),
        ]
    ),
    "api/v1/export-jobs/<anycase_uuid:pk>": Endpoint(
        [
            Call(
                lambda w, role, scope: f"/api/v1/export-jobs/{export_job(w, role, scope)}",
                expect((200, 404), anonymous=401, admin=200),
                scopes=("in", "out"),
            )
        ]
    ),
    "api/v1/export-jobs/<anycase_uuid:pk>/file": Endpoint(
        [
            Call(
                lambda w, role, scope: f"/api/v1/export-jobs/{export_job(w, role, scope)}/file",
                expect((409, 404), anonymous=401, admin=409),
                scopes=("in", "out"),
                note="queued: nothing to download yet",
            )
        ]
    ),
    "exports/": Endpoint([Call(const("/exports/"), expect(403, anonymous=302, manager=200, admin=200))]),
    # --- cases API -----------------------------------------------------------------------------------------------
    "api/v1/route": Endpoint(
        [
            Call(
                lambda w, r, s: f"/api/v1/route?lon={point_of(w).x}&lat={point_of(w).y}&category={POLICE_CATEGORY}",
                LOGGED_IN,
                note="a routing preview: units, no cases",
            )
        ]
    ),
    "api/v1/cases": Endpoint(
        [
            Call(const("/api/v1/cases"), LOGGED_IN, shows=lambda w, role, scope: visible_case_texts(w, role)),
            Call(
                const("/api/v1/cases"),
                expect(201, anonymous=401, manager=403),
                method="POST",
                body=desk_case_body,
                note="desk / hotline intake (一窗受理); managers take no cases",
            ),
        ]
    ),
    "api/v1/cases/<int:pk>": Endpoint(
        [
            Call(
                lambda w, role, scope: f"/api/v1/cases/{w.case(role, scope).pk}",
                SCOPED_READ,
                scopes=("in", "out"),
                shows=lambda w, role, scope: visible_case_texts(w, role, w.case_key(role, scope)),
            )
        ]
    ),
    "api/v1/cases/<int:pk>/caller/reveal": Endpoint(
        [
            Call(
                lambda w, role, scope: f"/api/v1/cases/{w.case(role, scope).pk}/caller/reveal",
                expect((403, 404), anonymous=401, dispatcher=(200, 404), centre=403, admin=200),
                method="POST",
                scopes=("in", "out"),
                body=lambda w, r, s: {"reason": "回访来电人：矩阵测试"},
                reveals=frozenset({"dispatcher", "admin"}),
                note="the caller's full phone: the reveal permission on a case one may see; managers never",
            )
        ]
    ),
    "api/v1/cases/<int:pk>/transitions": Endpoint(
        [
            Call(
                lambda w, role, scope: f"/api/v1/cases/{w.case(role, scope).pk}/transitions",
                expect((409, 404), anonymous=401, dispatcher=(200, 404), police=(200, 404), centre=200, admin=200),
                method="POST",
                scopes=("in", "out"),
                body=transition_body,
                note="立案 by the responsible unit or the command centre; anyone else who sees the case is refused by "
                "the workflow (409 with state and allowed actions); a case the caller may not see is 404, as for GET",
            )
        ]
    ),
    "api/v1/cases/<int:pk>/photos": Endpoint(
        [
            Call(
                lambda w, role, scope: f"/api/v1/cases/{w.case(role, scope).pk}/photos",
                DESK_PHOTO_UPLOAD,
                method="POST",
                scopes=("in", "out"),
                body=lambda w, r, s: {"kind": "after"},
                encoding="multipart",
                note="desks of the case's handling or co-handling units and command centres (no photo sent: 400); "
                "others who see the case 403; a case the caller may not see is 404",
            )
        ]
    ),
    # --- handheld API (mobileapi) --------------------------------------------------------------------------------
    "api/mobile/v1/auth/token": Endpoint(TOKEN_CALLS),
    "api/mobile/v1/me": Endpoint([Call(const("/api/mobile/v1/me"), LOGGED_IN)]),
    "api/mobile/v1/patrols": Endpoint(
        [Call(const("/api/mobile/v1/patrols"), expect(403, anonymous=401, worker=201), "POST", body=patrol_body)]
    ),
    "api/mobile/v1/reports": Endpoint(
        [
            Call(
                const("/api/mobile/v1/reports"),
                WORKERS_ONLY,
                shows=lambda w, role, scope: [w.cases["E1N-worker"].number],
                note="the worker's own reports (numbers and states, no descriptions)",
            ),
            Call(const("/api/mobile/v1/reports"), expect(403, anonymous=401, worker=201), "POST", body=report_body),
        ]
    ),
    "api/mobile/v1/reports/<anycase_uuid:client_uuid>/photos": Endpoint(
        [
            Call(
                lambda w, role, scope: "/api/mobile/v1/reports/{}/photos".format(
                    w.cases["E1N-worker" if scope == "in" else "W1N-office"].client_uuid
                ),
                expect(403, anonymous=401, worker=(400, 404)),
                method="POST",
                scopes=("in", "out"),
                body=lambda w, r, s: {"kind": "before"},
                encoding="multipart",
                note="in: the worker's own report (no photo sent: 400); out: another worker's report",
            )
        ]
    ),
    "api/mobile/v1/registry-changes": Endpoint(
        [
            Call(const("/api/mobile/v1/registry-changes"), WORKERS_ONLY, note="the worker's own 信息采集 requests"),
            Call(
                const("/api/mobile/v1/registry-changes"),
                expect(403, anonymous=401, worker=(201, 400)),
                "POST",
                scopes=("in", "out"),
                body=registry_change_body,
                note="in: a building of the worker's grid; out: a building of another grid (400 on `building`)",
            ),
        ]
    ),
    "api/mobile/v1/registry-changes/<anycase_uuid:client_uuid>": Endpoint(
        [
            Call(
                lambda w, role, scope: f"/api/mobile/v1/registry-changes/{w.registry_change(role, scope).client_uuid}",
                expect(403, anonymous=401, worker=(200, 404)),
                scopes=("in", "out"),
                note="in: the worker's own request; out: another worker's (404, as if missing)",
            )
        ]
    ),
    "api/mobile/v1/photos": Endpoint(
        [
            Call(
                const("/api/mobile/v1/photos"),
                expect(403, anonymous=401, worker=400),
                method="POST",
                body=lambda w, r, s: {},
                encoding="multipart",
            )
        ]
    ),
    "api/mobile/v1/grids/<int:pk>/package": Endpoint(
        [
            Call(
                lambda w, role, scope: f"/api/mobile/v1/grids/{w.grid(role, scope).pk}/package",
                expect(403, anonymous=401, worker=(200, 403)),
                scopes=("in", "out"),
                shows=lambda w, role, scope: visible_case_texts(w, role, "W1N-office", "W1N-police"),
            )
        ]
    ),
    "api/mobile/v1/tasks": Endpoint(
        [
            Call(
                const("/api/mobile/v1/tasks"),
                WORKERS_ONLY,
                shows=lambda w, role, scope: visible_case_texts(w, role, "W1N-office", "W1N-police"),
            )
        ]
    ),
    "api/mobile/v1/tasks/<int:pk>/complete": Endpoint(
        [
            Call(
                lambda w, role, scope: f"/api/mobile/v1/tasks/{w.case('worker', scope).pk}/complete",
                expect(403, anonymous=401, worker=(201, 404)),
                method="POST",
                scopes=("in", "out"),
                body=lambda w, r, s: {"client_uuid": str(uuid.uuid4()), "result": "confirmed"},
            )
        ]
    ),
    # --- Open311 GeoReport v2 (public by the spec; descriptions only of Open311 requests, 社会治理 withheld) --------
    "open311/v2/": Endpoint([Call(const("/open311/v2/"), expect(404))]),
    "open311/v2/discovery\\.(?P<fmt>json|xml)$": Endpoint([Call(const("/open311/v2/discovery.json"), PUBLIC)]),
    "open311/v2/services\\.(?P<fmt>json|xml)$": Endpoint([Call(const("/open311/v2/services.xml"), PUBLIC)]),
    "open311/v2/services/(?P<code>[^/]+)\\.(?P<fmt>json|xml)$": Endpoint(
        [Call(const(f"/open311/v2/services/{STREET_OFFICE_CATEGORY}.json"), PUBLIC)]
    ),
    "open311/v2/requests\\.(?P<fmt>json|xml)$": Endpoint(
        [
            Call(const("/open311/v2/requests.json"), PUBLIC),
            Call(const("/open311/v2/requests.xml"), PUBLIC),
            Call(const("/open311/v2/requests.json"), expect(201), method="POST", body=open311_body),
            Call(const("/open311/v2/requests.json"), expect(403), method="POST", body=lambda w, r, s: {}),
        ]
    ),
    "open311/v2/requests/(?P<number>[^/]+)\\.(?P<fmt>json|xml)$": Endpoint(
        [
            Call(
                lambda w, role, scope: "/open311/v2/requests/{}.json".format(
                    w.cases["W1N-office" if scope == "in" else "W1N-police"].number
                ),
                expect((200, 404)),
                scopes=("in", "out"),
                note="in: a 部件 case (public, coarse, no description); out: a 社会治理 case (withheld)",
            )
        ]
    ),
    "open311/v2/tokens/(?P<token>[^/]+)\\.(?P<fmt>json|xml)$": Endpoint(
        [
            Call(
                lambda w, role, scope: "/open311/v2/tokens/{}.json".format(
                    w.open311_case.number if scope == "in" else w.cases["W1N-office"].number
                ),
                expect((200, 404)),
                scopes=("in", "out"),
                note="tokens are the numbers of Open311 requests only",
            )
        ]
    ),
    "open311/v2/media/(?P<sha256>[0-9a-f]{64})\\.(?P<ext>jpg|png|webp)$": Endpoint(
        [
            Call(
                lambda w, role, scope: "/open311/v2/media/{}.jpg".format(
                    w.open311_photo if scope == "in" else w.photos["W1N-office"]
                ),
                expect((200, 404)),
                scopes=("in", "out"),
                note="in: the photo posted with a public Open311 request; out: a handheld photo (never served here)",
            )
        ]
    ),
    "open311/v2/(?P<path>.+)$": Endpoint([Call(const("/open311/v2/nothing-here.json"), expect(404))]),
    # --- maps: small APIs behind the pages -----------------------------------------------------------------------
    "api/v1/units": Endpoint([Call(const("/api/v1/units"), LOGGED_IN)]),
    # Region, unit and building names (buildings for roles with the building layer): no people, no cases.
    "api/v1/labels": Endpoint([Call(lambda w, r, s: f"/api/v1/labels?in_bbox={bbox(w)}&zoom=17", LOGGED_IN)]),
    "api/v1/grid-figures": Endpoint(
        [
            Call(
                lambda w, r, s: f"/api/v1/grid-figures?in_bbox={bbox(w)}",
                LOGGED_IN,
                hides=lambda w, role, scope: [w.geo.grids[k].code for k in ("E1", "E2")] if role == "manager" else [],
                note="per-grid figures; a street manager gets the grids of their street only",
            )
        ]
    ),
    "api/v1/tiles/buildings/<int:z>/<int:x>/<int:y>.pbf": Endpoint(
        [Call(tile_path, LOGGED_IN, scopes=("in", "out"), note="footprints, codes, addresses, household counts")]
    ),
    "api/v1/search": Endpoint(
        [
            Call(
                lambda w, role, scope: "/api/v1/search?q=" + ("居民W1N" if scope == "in" else "居民E2S"),
                LOGGED_IN,
                scopes=("in", "out"),
                shows=residents_shown,
            )
        ]
    ),
    "^api/v1/case-photos/(?P<sha256>[0-9a-f]{64})$": Endpoint(
        [
            Call(
                lambda w, role, scope: f"/api/v1/case-photos/{w.photos[w.case_key(role, scope)]}",
                SCOPED_READ,
                scopes=("in", "out"),
            )
        ]
    ),
    "api/v1/dashboard/hexbins": Endpoint(
        [Call(lambda w, r, s: f"/api/v1/dashboard/hexbins?in_bbox={bbox(w)}&zoom=14&measure=per_1000", DASHBOARD)]
    ),
    "api/v1/dashboard/summary": Endpoint(
        [Call(const("/api/v1/dashboard/summary"), DASHBOARD, hides=other_street_for_manager)]
    ),
    "^api/v1/dashboard/export\\.(?P<fmt>csv|xlsx)$": Endpoint(
        [
            Call(
                lambda w, r, s, fmt=fmt: f"/api/v1/dashboard/export.{fmt}?in_bbox={bbox(w)}&zoom=14",
                DASHBOARD,
                hides=other_street_for_manager,
            )
            for fmt in ("csv", "xlsx")
        ]
    ),
    "api/v1/dashboard/assessment": Endpoint(
        [Call(const("/api/v1/dashboard/assessment"), DASHBOARD, hides=other_street_for_manager)]
    ),
    "^api/v1/dashboard/assessment\\.(?P<fmt>csv|xlsx)$": Endpoint(
        [
            Call(
                lambda w, r, s, fmt=fmt: f"/api/v1/dashboard/assessment.{fmt}",
                DASHBOARD,
                hides=other_street_for_manager,
            )
            for fmt in ("csv", "xlsx")
        ]
    ),
    "api/v1/public/stats": Endpoint([Call(const("/api/v1/public/stats"), PUBLIC)]),
    "api/v1/public/grids": Endpoint([Call(const("/api/v1/public/grids"), PUBLIC)]),
    "api/v1/public/labels": Endpoint(
        [Call(lambda w, r, s: f"/api/v1/public/labels?in_bbox={bbox(w)}&zoom=15", PUBLIC)]
    ),
    # A case's state and dates by its number, for anyone (no description, place, person or unit).
    "api/v1/public/cases/<str:number>": Endpoint(
        [Call(lambda w, r, s: f"/api/v1/public/cases/{w.cases['W1N-office'].number}", PUBLIC)]
    ),
}

# --- OGC API – Features: the registry layers for GIS desktops, read like /api/v1/{layer} -------------------------
OGC_LAYER_NOTE = "geometry, codes, names, addresses: no people"
OGC = {
    "ogc/": Endpoint([Call(const("/ogc/"), LOGGED_IN)]),
    "ogc/conformance": Endpoint([Call(const("/ogc/conformance"), LOGGED_IN)]),
    "ogc/api": Endpoint([Call(const("/ogc/api"), LOGGED_IN)]),
    "ogc/collections": Endpoint([Call(const("/ogc/collections"), LOGGED_IN)]),
    "ogc/collections/<str:collection_id>": Endpoint([Call(const("/ogc/collections/buildings"), LOGGED_IN)]),
    "ogc/collections/<str:collection_id>/items": Endpoint(
        [
            Call(const(f"/ogc/collections/{name}/items"), LOGGED_IN, note=OGC_LAYER_NOTE)
            for name in ("streets", "communities", "grids", "buildings", "units")
        ]
    ),
    "ogc/collections/<str:collection_id>/items/<str:feature_id>": Endpoint(
        [
            Call(
                lambda w, role, scope: f"/ogc/collections/buildings/items/{w.buildings['W1N'].pk}",
                LOGGED_IN,
                note=OGC_LAYER_NOTE,
            )
        ]
    ),
    "ogc/(?P<rest>.+)$": Endpoint([Call(const("/ogc/nothing-here"), expect(404, anonymous=401))]),
}
ENDPOINTS.update(OGC)

# /admin/ is Django's own: only staff get in; everyone else is sent to the admin login. The administrator's person
# pages are checked for full ID numbers and phones like every other response.
# --- the desk and the statistics ----------------------------------------------------------------------------------
STATS_SECTIONS = ("summary", "reporters", "units", "dispatchers", "steps", "trend")


def stats(path: str) -> Endpoint:
    return Endpoint(
        [
            Call(
                const(path),
                LOGGED_IN,
                hides=other_street_for_manager,
                note="figures over the cases the caller may see; reporters by grid for managers, own row for workers",
            )
        ]
    )


DESK_AND_STATS = {
    "desk/": Endpoint(
        [
            Call(
                const("/desk/"),
                expect(200, anonymous=302, worker=302),
                note="the unit's queue (numbers, categories, addresses; no descriptions); workers go to their app, /m/",
            )
        ]
    ),
    "desk/cases/<int:pk>/": Endpoint(
        [
            Call(
                lambda w, role, scope: f"/desk/cases/{w.case(role, scope).pk}/",
                expect((200, 404), anonymous=302, worker=302, centre=200, admin=200),
                scopes=("in", "out"),
                shows=lambda w, role, scope: visible_case_texts(w, role, w.case_key(role, scope)),
                note="a case the caller may see (selectors.visible_cases), read-only for managers",
            )
        ]
    ),
    "desk/new": Endpoint(
        [
            Call(
                const("/desk/new"),
                expect(200, anonymous=302, worker=302, manager=403),
                note="一窗受理 form (categories, the unit's frame); saving goes through POST /api/v1/cases",
            )
        ]
    ),
    "desk/find": Endpoint(
        [
            Call(const("/desk/find"), expect(200, anonymous=302, worker=302), note="the search form"),
            Call(
                const("/desk/find"),
                expect((302, 404), anonymous=302, worker=302, centre=302, admin=302),
                "POST",
                scopes=("in", "out"),
                body=lambda w, role, scope: {"q": w.case(role, scope).number},
                encoding="multipart",
                note="a case number opens a case the caller may see; otherwise 404, as for a number never given",
            ),
        ]
    ),
    "desk/registry/": Endpoint(
        [
            Call(
                const("/desk/registry/"),
                expect(403, anonymous=302, dispatcher=200, admin=200),
                shows=lambda w, role, scope: [w.buildings["W1N"].name],
                note="信息采集 requests waiting for the community committees and street offices of their area",
            )
        ]
    ),
    "desk/registry/<int:pk>/decide": Endpoint(
        [
            Call(
                lambda w, role, scope: f"/desk/registry/{w.registry_change(role, scope).pk}/decide",
                expect(403, anonymous=302, dispatcher=(302, 404), admin=302),
                "POST",
                scopes=("in", "out"),
                body=lambda w, r, s: {"decision": "reject", "note": "矩阵测试驳回"},
                encoding="multipart",
                note="a request in the unit's area is decided (back to the queue); outside it 404, as if missing",
            )
        ]
    ),
    "api/v1/stats": stats("/api/v1/stats"),
    **{f"api/v1/stats/{section}": stats(f"/api/v1/stats/{section}") for section in STATS_SECTIONS},
}
ENDPOINTS.update(DESK_AND_STATS)


# --- notices: each account sees its own and its desk's, never another's ----------------------------------------


def notice_path(suffix: str) -> Path:
    """A notice of the caller ("in") or of another account ("out": the administrator's, the worker's for the
    administrator), made for the call and rolled back with it."""

    def path(w: World, role: str, scope: str) -> str:
        from notices.models import Kind, Notification

        owner = role if scope == "in" and role != "anonymous" else ("worker" if role == "admin" else "admin")
        notice = Notification.objects.create(recipient_user=w.users[owner], kind=Kind.TO_VERIFY, params={"number": "X"})
        return f"/{suffix}/{notice.pk}/read"

    return path


NOTICES = {
    "api/v1/notices": Endpoint([Call(const("/api/v1/notices"), LOGGED_IN, note="the caller's and their desk's")]),
    "api/v1/notices/unread": Endpoint([Call(const("/api/v1/notices/unread"), LOGGED_IN)]),
    "api/v1/notices/read-all": Endpoint(
        [Call(const("/api/v1/notices/read-all"), LOGGED_IN, "POST", note="marks only the caller's and their desk's")]
    ),
    "api/v1/notices/<int:pk>/read": Endpoint(
        [
            Call(
                notice_path("api/v1/notices"),
                expect((200, 404), anonymous=401),
                "POST",
                scopes=("in", "out"),
                note="in: the caller's notice; out: another account's (404, as if missing)",
            )
        ]
    ),
    "api/mobile/v1/notices": Endpoint([Call(const("/api/mobile/v1/notices"), LOGGED_IN, note="the badge")]),
    "notices/": Endpoint([Call(const("/notices/"), PAGE)]),
    "notices/read-all": Endpoint(
        [Call(const("/notices/read-all"), expect(302), "POST", body=lambda w, r, s: {}, encoding="multipart")]
    ),
    "notices/<int:pk>/read": Endpoint(
        [
            Call(
                notice_path("notices"),
                expect((302, 404), anonymous=302),
                "POST",
                scopes=("in", "out"),
                body=lambda w, r, s: {},
                encoding="multipart",
                note="in: the caller's notice, back to the list; out: another account's (404, as if missing)",
            )
        ]
    ),
}
ENDPOINTS.update(NOTICES)


def import_job(w: World, role: str, scope: str) -> str:
    """An import job of the administrator (the only one who may import), queued."""
    from jobs.models import ImportJob

    job = ImportJob.objects.create(requested_by=w.users["admin"], layer="buildings", source_name="楼栋.gpkg")
    return str(job.pk)


ADMIN_CALLS = [
    Call(const("/admin/"), expect(302, admin=200)),
    Call(const("/admin/grids/import/"), expect(302, admin=200), note="the import upload: administrators only"),
    Call(
        lambda w, role, scope: f"/admin/grids/import/{import_job(w, role, scope)}/",
        expect(302, admin=200),
        note="an import job's progress and report, for the administrator who uploaded it",
    ),
    Call(
        lambda w, role, scope: f"/admin/grids/import/{import_job(w, role, scope)}/refused.csv",
        expect(302, admin=200),
        note="the rows an import job refused, with why",
    ),
    Call(const("/admin/grids/person/"), expect(302, admin=200)),
    Call(lambda w, role, scope: f"/admin/grids/person/{w.person(role, 'in').pk}/change/", expect(302, admin=200)),
]
