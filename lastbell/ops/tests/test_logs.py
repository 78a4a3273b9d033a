"""Request ids and JSON log lines (LOG_FORMAT=json), and no secrets in them."""

import io
import json
import logging
import os
import subprocess
import sys

import pytest
from django.conf import settings

from lastbell.ops.logs import JsonFormatter, RequestIdFilter


@pytest.fixture
def json_lines():
    """The lines logged during the test, formatted as LOG_FORMAT=json formats them."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)


def _request_lines(lines):
    return [line for line in lines if line["logger"] == "lastbell.request"]


@pytest.mark.django_db
def test_it_makes_a_request_id_and_returns_it(client):
    first = client.get("/accounts/sign-in/")
    second = client.get("/accounts/sign-in/")
    assert len(first["X-Request-ID"]) == 32
    assert first["X-Request-ID"] != second["X-Request-ID"]


@pytest.mark.django_db
def test_it_keeps_a_valid_request_id_from_the_proxy(client):
    given = "5f0c6d1e-8a3b-4c2d-9e1f-0a1b2c3d4e5f"
    assert client.get("/accounts/sign-in/", HTTP_X_REQUEST_ID=given)["X-Request-ID"] == given


@pytest.mark.django_db
@pytest.mark.parametrize(
    "given", ["", "a b", "x" * 129, "abc\ninjected line", '{"level": "ERROR"}', "-leading"]
)
def test_it_replaces_an_unfit_request_id(client, given):
    returned = client.get("/accounts/sign-in/", HTTP_X_REQUEST_ID=given)["X-Request-ID"]
    assert returned != given
    assert len(returned) == 32 and int(returned, 16) >= 0


@pytest.mark.django_db
def test_it_logs_each_request_as_one_json_line(client, json_lines):
    response = client.get("/accounts/sign-in/", HTTP_X_REQUEST_ID="req-123")
    [line] = _request_lines(json_lines())
    assert set(line) == {
        "time", "level", "logger", "message", "request_id", "method", "path", "status",
        "duration_ms",
    }  # fmt: skip
    assert line["request_id"] == "req-123" == response["X-Request-ID"]
    assert (line["level"], line["method"], line["path"], line["status"]) == (
        "INFO", "GET", "/accounts/sign-in/", 200,
    )  # fmt: skip
    assert line["message"].startswith("GET /accounts/sign-in/ 200 ")
    assert line["time"].endswith("+00:00")
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0


@pytest.mark.django_db
def test_lines_logged_while_handling_a_request_carry_its_id(client, json_lines):
    # A page that does not exist: django.request logs a warning while the request is handled.
    client.get("/no-such-page/", HTTP_X_REQUEST_ID="req-404")
    lines = json_lines()
    warning = next(line for line in lines if line["logger"] == "django.request")
    assert warning["level"] == "WARNING"
    assert warning["request_id"] == "req-404"
    assert _request_lines(lines)[0]["status"] == 404
    # Outside a request there is none.
    logging.getLogger("lastbell.test").info("between requests")
    assert json_lines()[-1]["request_id"] is None


@pytest.mark.django_db
def test_it_logs_a_sign_in_link_without_its_token(client, json_lines, guardian, student):
    from lastbell.family.links import child_link

    link = child_link(guardian, student)
    token = link.split("?", 1)[1].split("=", 1)[1]
    assert len(token) > 20
    client.get(link, HTTP_X_REQUEST_ID="req-link")
    logged = json.dumps(json_lines())
    assert "req-link" in logged
    assert token not in logged
    [line] = _request_lines(json_lines())
    assert "?" not in line["path"] and "?" not in line["message"]


def test_it_formats_an_exception_into_the_line():
    record = logging.LogRecord(
        "lastbell.x", logging.ERROR, __file__, 1, "failed %s", ("job",), None
    )
    try:
        raise ValueError("boom")
    except ValueError:
        record.exc_info = sys.exc_info()
    RequestIdFilter().filter(record)
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "failed job"
    assert line["level"] == "ERROR" and line["request_id"] is None
    assert "ValueError: boom" in line["exception"]


def test_log_format_json_configures_every_line_as_json(tmp_path):
    # settings.LOGGING read from the environment, in a process of its own.
    code = (
        "import django, logging; django.setup();"
        "logging.getLogger('lastbell.test').warning('hello %s', 'there');"
        "logging.getLogger('uvicorn.error').warning('uvicorn line');"
        "logging.getLogger('uvicorn.access').warning('GET /?sesame=secret');"
    )
    env = {
        **os.environ,
        "LOG_FORMAT": "json",
        "LASTBELL_DATA_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "lastbell.settings",
    }
    result = subprocess.run(  # noqa: S603 — this interpreter, fixed code
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60,
        cwd=settings.BASE_DIR,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stderr.splitlines()]
    assert [(line["logger"], line["message"]) for line in lines] == [
        ("lastbell.test", "hello there"),
        ("uvicorn.error", "uvicorn line"),
    ]
