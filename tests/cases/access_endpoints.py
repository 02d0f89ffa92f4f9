"""The access-matrix classification (tests/access/endpoints.py) of the desk and the statistics.

To be merged into tests/access/endpoints.py's ENDPOINTS (`ENDPOINTS.update(CASES_ENDPOINTS)`); until then
tests/cases/test_access_desk_stats.py runs the matrix on these routes with this table.
"""

from tests.access.endpoints import (
    LOGGED_IN,
    Call,
    Endpoint,
    const,
    expect,
    other_street_for_manager,
    visible_case_texts,
)

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


CASES_ENDPOINTS = {
    "desk/": Endpoint(
        [
            Call(
                const("/desk/"),
                expect(200, anonymous=302, worker=302),
                note="the unit's queue (numbers, categories, addresses; no descriptions); workers go to the map",
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
    "api/v1/stats/": stats("/api/v1/stats/"),
    **{f"api/v1/stats/{section}": stats(f"/api/v1/stats/{section}") for section in STATS_SECTIONS},
}
