"""Schemathesis over the whole OpenAPI spec, with a valid API key holding every role.

It looks for server errors and for responses that break the published schema.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import Engine
from tests.web.conftest import TEST_SETTINGS

from fukaiji.db import transaction
from fukaiji.network.institutions import get_institution
from fukaiji.staff import service as staff_service
from fukaiji.staff.roles import StaffRole
from fukaiji.web import create_app

EXAMPLES_PER_OPERATION = 25
# The key's own institution, another one, and None to keep schemathesis' generated value.
INSTITUTION_CODES = ["131016", "141003", None]


@pytest.fixture
def api_key(engine: Engine) -> str:
    with transaction(engine) as session:
        institution = get_institution(session, "131016")
        _, key = staff_service.create_api_key(
            session,
            institution_id=institution.id,
            name="schemathesis",
            roles=list(StaffRole),
            actor="test",
        )
    return key


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def test_no_server_error_and_no_schema_violation(engine: Engine, api_key: str) -> None:
    # Driven by hand rather than by schemathesis' pytest plugin, which does not run on pytest 9.
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(TEST_SETTINGS, engine))
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 10
    for operation in operations:

        @given(case=operation.as_strategy(), code=st.sampled_from(INSTITUTION_CODES))
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        def call(case: schemathesis.Case, code: str | None) -> None:
            # Random codes only ever reach "not found"; real ones reach the routes' own logic.
            if code is not None and "code" in (case.path_parameters or {}):
                case.path_parameters["code"] = code
            case.call_and_validate(headers={"Authorization": f"Bearer {api_key}"}, checks=CHECKS)

        call()
