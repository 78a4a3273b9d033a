"""Live regions pushed down the stream, for the screens that change at every step.

At dismissal every check-in, call and release makes each open curb, door, groups and
classroom screen of the school fetch its live region again: half of the server's requests,
each through sessions, authentication and the rest of the middleware for a region that is
rendered once per state and scope anyway (`dismissal.views.shared_live`). A stream opened by
such a page (`?page=` in its address, the page's own path) renders the region itself when the
board changes, as the page's own refresh request would, and sends it as a `region` event;
app.js swaps it in. Any other page, or a render that does not answer 200, gets the `board`
event as before and fetches the region itself.

The render is the page's view called with the stream's own request: the same user, session,
cookies (the CSRF token in its forms is the viewer's) and language, `HX-Target: live`. The view
checks access as on every request, so a staff member who loses the school stops getting it.
"""

import io
import logging
from urllib.parse import urlsplit

from django.core.handlers.asgi import ASGIRequest
from django.middleware.csrf import CsrfViewMiddleware
from django.middleware.locale import LocaleMiddleware
from django.urls import Resolver404, resolve
from django.utils import translation
from django_htmx.middleware import HtmxDetails

log = logging.getLogger(__name__)

# A view that may be pushed says so (dismissal.views.shared_live); wrappers copy the mark.
MARK = "pushes_live"
HX_HEADERS = (b"hx-request", b"hx-target", b"hx-current-url")


def pushed(view):
    """Mark a view whose live region (GET, `HX-Target: live`) may be pushed to its page's
    stream. Put it outermost: the mark is read on the function the URL resolves to."""
    setattr(view, MARK, True)
    return view


def _unused(request):  # the middleware below is used for its process_request only
    return None


def region_of(page: str, school_id: int) -> tuple[str, str] | None:
    """(path, query) of the page a stream was opened from, if its live region is pushed:
    a view that says so, of the stream's own school. None otherwise (the stream says
    `board` and the page fetches)."""
    if not page:
        return None
    parts = urlsplit(page)
    if parts.scheme or parts.netloc or not parts.path.startswith("/"):
        return None  # only a path of this site
    try:
        match = resolve(parts.path)
    except Resolver404:
        return None
    if not getattr(match.func, MARK, False) or match.kwargs.get("school_id") != school_id:
        return None
    return parts.path, parts.query


def render(scope, path: str, query: str) -> str | None:
    """The live region of the page at `path?query` for the stream's viewer, or None when the
    view answered anything but a 200 (gone, refused, an error): the page then fetches it and
    shows what the server says."""
    headers = [(k, v) for k, v in scope.get("headers", []) if k not in HX_HEADERS]
    headers += [(b"hx-request", b"true"), (b"hx-target", b"live")]
    request_scope = {**scope, "type": "http", "method": "GET", "path": path,
                     "raw_path": path.encode(), "query_string": query.encode(),
                     "headers": headers}  # fmt: skip
    request = ASGIRequest(request_scope, io.BytesIO())
    request.user = scope.get("user")
    request.session = scope.get("session")
    CsrfViewMiddleware(_unused).process_request(request)  # the viewer's CSRF secret
    if "CSRF_COOKIE" not in request.META:
        return None  # its forms would carry a token the browser cannot match: it asks
    LocaleMiddleware(_unused).process_request(request)  # the viewer's language
    request.htmx = HtmxDetails(request)
    try:
        match = resolve(path)
        response = match.func(request, *match.args, **match.kwargs)
    except Exception as exc:  # noqa: BLE001 — the page fetches instead and sees the error
        log.info("Live region of %s not pushed: %r", path, exc)
        return None
    finally:
        translation.deactivate()
    if response.status_code != 200 or response.streaming:
        return None
    return response.content.decode(response.charset or "utf-8").strip()
