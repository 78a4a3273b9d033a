"""Property-based run over the whole OpenAPI document (schemathesis): whatever a client
sends, within the schema or not, the API never answers with a server error, and every error
is problem+json.

Schemathesis's pytest plugin does not run on pytest 9 yet, so its strategies are driven by
Hypothesis directly, one operation after another.
"""

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from lastbell.api.models import ApiToken, Permission

pytestmark = pytest.mark.django_db


@pytest.fixture
def keep_the_test_connection():
    """The WSGI app closes the database connection after each request; Django's test client
    turns that off for tests, and so must a run that calls the app directly."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def test_no_operation_answers_with_a_server_error(
    district, school, student, on_school_day, keep_the_test_connection
):
    from django.core.wsgi import get_wsgi_application

    _, secret = ApiToken.issue(district=district, name="fuzz", permissions=list(Permission))
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", get_wsgi_application())
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 5

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=30, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))  # fmt: skip
        def check(case):
            response = case.call(headers={"Authorization": f"Bearer {secret}"})
            assert response.status_code < 500, (case.method, case.path, response.text[:300])
            if response.status_code >= 400:
                headers = {name.lower(): value for name, value in response.headers.items()}
                kind = headers["content-type"]
                kind = kind[0] if isinstance(kind, list) else kind
                assert kind.startswith("application/problem+json"), (case.path, kind)

        check()
