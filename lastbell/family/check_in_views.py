"""The guardian's "I'm here" (issue 5 §3, §4): one tap checks in for all of the guardian's
children at a school; the card then follows each child until they are released.

Both answer with the card alone to htmx (the button posts with hx-post; the states poll
every few seconds while a child waits); without JavaScript the form posts and the page
comes back with the card.
"""

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from lastbell.dismissal import services as dismissal
from lastbell.dismissal.models import Arrival
from lastbell.family.check_in import pickup_card_or_404
from lastbell.family.views import family_view

CARD = "family/_check_in.html#body"


def _back(request) -> str:
    """Where the page was: the family home or a child's page (nothing outside /family/)."""
    target = request.POST.get("next", "")
    if target.startswith("/family/") and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse("family:home")


@family_view
@require_POST
def check_in(request, guardian, school_id):
    card = pickup_card_or_404(guardian, school_id)
    error = ""
    if card.day is None:
        error = _("There is no school today, so there is nobody to pick up.")
    else:
        try:
            dismissal.check_in(
                card.day, actor=request.user, method=Arrival.Method.PHONE, guardian=guardian
            )
        except dismissal.Refused as exc:
            error = str(exc)
    if request.htmx:
        card = pickup_card_or_404(guardian, school_id)
        return render(request, CARD, {"card": card, "error": error, "next": _back(request)})
    if error:
        messages.error(request, error)
    return redirect(_back(request))


@family_view
@require_GET
def check_in_status(request, guardian, school_id):
    card = pickup_card_or_404(guardian, school_id)
    if not request.htmx:
        return redirect("family:home")
    if request.GET.get("v") == card.version:
        return HttpResponse(status=204)  # unchanged: htmx leaves the card as it is
    return render(request, CARD, {"card": card, "next": reverse("family:home")})
