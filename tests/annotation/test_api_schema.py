"""The OpenAPI schema documents the dataset endpoints' request and response bodies."""

from __future__ import annotations

from typing import Any

import pytest
from drf_spectacular.generators import SchemaGenerator


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return SchemaGenerator().get_schema(request=None, public=True)


def test_export_endpoints_are_documented(schema: dict[str, Any]) -> None:
    paths = schema["paths"]
    start = paths["/api/v1/projects/{slug}/exports/"]["post"]
    assert set(start["responses"]) >= {"202", "400"}
    body = start["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    request_fields = schema["components"]["schemas"][body.rsplit("/", 1)[-1]]["properties"]
    assert {
        "split",
        "batches",
        "created_from",
        "created_to",
        "exclude_flagged_annotators",
        "exclude_gold",
        "min_annotators",
    } <= set(request_fields)
    listing = paths["/api/v1/projects/{slug}/exports/"]["get"]
    names = {p["name"] for p in listing["parameters"]}
    assert {"limit", "offset", "status"} <= names  # paginated and filterable
    download = paths["/api/v1/exports/{id}/download/"]["get"]["responses"]
    assert "application/x-tar" in download["200"]["content"] and "409" in download
    board = paths["/api/v1/projects/{slug}/leaderboard/"]["get"]["responses"]["200"]
    ref = board["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    assert set(schema["components"]["schemas"][ref]["properties"]) >= {"overall", "styles"}


def test_every_operation_declares_its_auth(schema: dict[str, Any]) -> None:
    schemes = schema["components"]["securitySchemes"]
    assert {"tokenAuth", "cookieAuth"} <= set(schemes)
    for path, operations in schema["paths"].items():
        if path.startswith("/api/v1/"):
            for operation in operations.values():
                assert operation.get("security"), path
