"""The stream's address when Django itself answers it: served over WSGI (or by pytest-django's
live server), where no stream can be held open. lastbell/asgi.py routes the address to the
stream before Django sees it."""

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse

from lastbell.accounts.access import school_access


@login_required
def no_stream(request, school_id):
    """204: EventSource stops quietly, and the page refreshes every 30 s instead."""
    school_access(request.user, school_id)
    return HttpResponse(status=204)
