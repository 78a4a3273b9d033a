"""Request ids and structured logs.

Every request gets an id: the X-Request-ID a proxy sent, when it looks like one, or a new one.
It goes back in the response's X-Request-ID and into every log line written while the request
is handled, so a proxy's log, this app's lines and a user's report can be matched up.

With LOG_FORMAT=json each log line is one JSON object (settings.LOGGING). A request's own line
has its method, path, status and duration. The path is logged without its query string: a
guardian's sign-in link carries its token there (family/links.py), and so may other links.
"""

import contextvars
import datetime as dt
import json
import logging
import re
import time
import uuid

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "request_id", default=None
)
request_logger = logging.getLogger("lastbell.request")

# Ids from a proxy are kept when they are short and plain (uuids, hex, Heroku/AWS styles):
# anything else could forge log lines or carry a payload into them.
VALID_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:+=/-]{0,127}")
# Probes every few seconds would drown the requests worth reading; they log at DEBUG.
QUIET_PATHS = {"/healthz", "/readyz"}


class RequestIdMiddleware:
    """Outermost middleware: names the request, logs it once it is answered."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        given = request.headers.get("X-Request-ID", "")
        request_id = given if VALID_REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
        request.request_id = request_id
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            response["X-Request-ID"] = request_id
            # A streamed response (a PDF, a CSV) is timed to its first byte.
            duration_ms = round((time.perf_counter() - started) * 1000, 1)
            request_logger.log(
                logging.DEBUG if request.path in QUIET_PATHS else logging.INFO,
                "%s %s %s %.0f ms",
                request.method,
                request.path,
                response.status_code,
                duration_ms,
                extra={
                    "method": request.method,
                    "path": request.path,
                    "status": response.status_code,
                    "duration_ms": duration_ms,
                },
            )
            return response
        finally:
            request_id_var.reset(token)


class RequestIdFilter(logging.Filter):
    """Puts the current request's id (or None) on every record: `request_id` for JSON,
    `request_tag` (" [id]", or nothing outside a request) for plain lines."""

    def filter(self, record):
        if not hasattr(record, "request_id"):
            # django.request logs a 4xx/5xx after the middleware has returned, with the request.
            request = getattr(record, "request", None)
            record.request_id = request_id_var.get() or getattr(request, "request_id", None)
        record.request_tag = f" [{record.request_id}]" if record.request_id else ""
        return True


# What a record carries about a request, copied into the JSON when present.
REQUEST_FIELDS = ("method", "path", "status", "duration_ms")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, request_id,
    the request's fields on a request's line, and the traceback of an exception."""

    def format(self, record):
        line = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        for field in REQUEST_FIELDS:
            if hasattr(record, field):
                line[field] = getattr(record, field)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        elif record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, ensure_ascii=False, default=str)
