"""Live regions, rendered once per board state and shared by every screen that shows it.

A board event makes every open dashboard, roster and students page of the school fetch its
live region again, at about the same moment. What such a region shows is made only of the
school's day board (which cannot change without the school's stamp changing, stamps.py), the
date, the viewer's access (roles and homerooms) and the page's query. So the region is
rendered once per (page, school, date, stamps, access, query, language) and that HTML is
served to the others: two hundred open screens cost one render and a lookup each, instead of
two hundred renders competing for the web process at once. Full pages are never shared (they
carry the viewer's name); a shared region's forms get each viewer's own CSRF token
(`shared_response`). The dismissal screens share theirs the same way (dismissal/views.py).
"""

import re

from django.db import connection
from django.http import HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.translation import get_language

from lastbell.plans import stamps
from lastbell.plans.board import ReuseCache

region_cache = ReuseCache(size=256)


def render_live(request, page, template: str, partial: str, context) -> HttpResponse:
    """`template` for a page load; for an htmx request, only its `partial` (the live region),
    shared with every viewer of the same region. `context` builds the template's context."""
    if not request.htmx:
        return render(request, template, context())
    stamp = stamps.current(page.school.id)
    name = f"{template}#{partial}"
    if stamp is None:  # inside a transaction, or no stamp yet: nothing to share
        return HttpResponse(render_to_string(name, context(), request=request))
    key = (name, page.school.id, page.date, page.today, *stamp, *scope_key(request, page.access))
    return shared_response(request, key, lambda: render_to_string(name, context(), request=request))


def scope_key(request, access) -> tuple:
    """What, besides the data, makes one viewer's region differ from another's."""
    homerooms = None if access.homeroom_ids is None else tuple(sorted(access.homeroom_ids))
    return (
        connection.alias, connection.settings_dict["NAME"], frozenset(access.roles), homerooms,
        tuple(sorted((k, tuple(v)) for k, v in request.GET.lists())), get_language(),
    )  # fmt: skip


_CSRF_INPUT = re.compile(r'(name="csrfmiddlewaretoken" value=")[^"]*(")')


def shared_response(request, key, render_html) -> HttpResponse:
    """The HTML under `key`, rendered by `render_html()` once for everyone who asks, with the
    CSRF token of this viewer in its forms (a token is tied to its viewer's session)."""
    html = region_cache.resolved(key, render_html)
    if "csrfmiddlewaretoken" in html:
        token = get_token(request)
        html = _CSRF_INPUT.sub(lambda m: m.group(1) + token + m.group(2), html)
    return HttpResponse(html)
