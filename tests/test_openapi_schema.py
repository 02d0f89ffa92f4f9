"""What the OpenAPI document promises client generators: the request media types the server reads, binary uploads,
nullable fields, the errors of every operation and documented paging. The live client run is in
tests/test_openapi_client.py; this reads the document itself, quickly."""

import pytest

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

WRITE_METHODS = ("post", "put", "patch")
UPLOADS = {"/api/mobile/v1/photos", "/api/mobile/v1/reports/{client_uuid}/photos", "/api/v1/cases/{id}/photos"}


@pytest.fixture
def schema(api_client):
    api_client.force_authenticate(UserFactory())
    response = api_client.get("/api/schema?format=json")
    assert response.status_code == 200
    return response.json()


def operations(schema):
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            yield path, method, operation


def nullable(property_schema: dict) -> bool:
    return "null" in property_schema.get("type", []) or {"type": "null"} in property_schema.get("oneOf", [])


def test_json_writes_read_only_json_and_uploads_only_multipart_with_binary_files(schema):
    bodies = {
        (path, method): operation["requestBody"]["content"]
        for path, method, operation in operations(schema)
        if method in WRITE_METHODS and "requestBody" in operation
    }
    assert {path for path, _ in bodies} >= {"/api/mobile/v1/reports", "/api/v1/cases/{id}/transitions"} | UPLOADS
    for (path, method), content in bodies.items():
        expected = ["multipart/form-data"] if path in UPLOADS else ["application/json"]
        assert list(content) == expected, (method, path)
    components = schema["components"]["schemas"]
    for path in UPLOADS:
        reference = schema["paths"][path]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]["$ref"]
        photo = components[reference.rsplit("/", 1)[-1]]["properties"]["photo"]
        assert photo == {**photo, "type": "string", "format": "binary"}


@pytest.mark.parametrize(
    ("component", "field"),
    [
        ("Report", "client_uuid"),
        ("Task", "client_uuid"),
        ("Location", "building"),
        ("CaseDetail", "assigned_by_unit"),
        ("CaseDetail", "duplicate_of"),
        ("CaseEvent", "unit"),
        ("CasePhoto", "camera_position"),
    ],
)
def test_fields_the_server_may_answer_as_null_are_nullable(schema, component, field):
    assert nullable(schema["components"]["schemas"][component]["properties"][field])


def test_every_operation_lists_its_errors_with_the_one_error_schema(schema):
    error = {"$ref": "#/components/schemas/Problem"}
    problem = schema["components"]["schemas"]["Problem"]
    assert set(problem["required"]) == {"type", "title", "status", "detail"} and "errors" in problem["properties"]
    for path, method, operation in operations(schema):
        responses = operation["responses"]
        errors = {status for status in responses if status.startswith(("4", "5"))}
        assert "503" in errors, (method, path)
        if any(operation.get("security", [])):  # credentials needed (`{}` alone: none)
            assert "401" in errors, (method, path)
        if "{" in path:
            assert "404" in errors, (method, path)
        if "requestBody" in operation or any(p["in"] == "query" for p in operation.get("parameters", [])):
            assert "400" in errors, (method, path)
        if "requestBody" in operation:
            assert {"413", "415"} <= errors, (method, path)
        if any(p["in"] == "query" for p in operation.get("parameters", [])):
            assert "text/html" in responses["414"]["content"], (method, path)  # gunicorn's own answer
        for status in errors - {"414"}:
            content = responses[status]["content"]
            assert list(content) == ["application/problem+json"], (method, path, status)
            # A refused transition is a problem with the workflow's members (reason, allowed_actions …).
            refusal = {"$ref": "#/components/schemas/TransitionRefused"} if status == "409" else error
            assert content["application/problem+json"]["schema"] in (error, refusal), (method, path, status)
    paths = schema["paths"]
    assert {"401", "429"} <= set(paths["/api/mobile/v1/auth/token"]["post"]["responses"])
    assert "409" in paths["/api/mobile/v1/reports"]["post"]["responses"]
    assert "413" in paths["/api/mobile/v1/reports/{client_uuid}/photos"]["post"]["responses"]
    assert "403" in paths["/api/mobile/v1/tasks"]["get"]["responses"]  # grid workers only


def test_paging_parameters_are_documented_with_their_limits_and_order(schema):
    paths = schema["paths"]
    cases = next(path for path in paths if path.rstrip("/") == "/api/v1/cases")

    def parameter(path, name):
        return next(p for p in paths[path]["get"]["parameters"] if p["name"] == name)

    for path, most, order in ((cases, 1000, "newest first"), ("/api/v1/buildings", 5000, "in order of code")):
        size = parameter(path, "page_size")
        assert size["schema"]["maximum"] == most and str(most) in size["description"]
        assert parameter(path, "page")["schema"]["minimum"] == 1
        assert order in paths[path]["get"]["description"]
    limit = parameter("/api/mobile/v1/reports", "limit")
    assert limit["schema"]["maximum"] == 500 and "500" in limit["description"]
    assert "oldest change first" in paths["/api/mobile/v1/reports"]["get"]["description"]


def test_an_api_path_that_names_nothing_is_a_problem_404(api_client):
    api_client.force_authenticate(UserFactory())
    for path in ("/api/v1/cases/not-a-number/transitions", "/api/v1/tiles/buildings/1/550/1.pbf", "/api/v1/nothing"):
        response = api_client.get(path)
        assert response.status_code == 404, path
        assert response["Content-Type"] == "application/problem+json" and response.json()["detail"], path
        assert response.json()["status"] == 404 and response.json()["type"] == "about:blank", path
