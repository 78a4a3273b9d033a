"""Where a staff member lands: their school, a choice of schools, or the district overview."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from lastbell.accounts.access import district_admin_or_404, districts_administered, schools_for
from lastbell.plans.board import day_board
from lastbell.schools.services import school_tracker_set


@login_required
def home(request):
    districts = list(districts_administered(request.user))
    if districts:
        return redirect("schools:district", districts[0].id)
    schools = list(schools_for(request.user))
    if len(schools) == 1:
        return redirect("plans:dashboard", schools[0].id)
    if not schools:
        raise PermissionDenied(
            "This account has no staff access to any school. If you are a parent, use the "
            "sign-in link the school sent you."
        )
    return render(request, "schools/pick.html", {"schools": schools})


@login_required
def pick(request):
    schools = list(schools_for(request.user).order_by("district__name", "name"))
    if not schools:
        raise PermissionDenied("This account has no staff access to any school.")
    return render(request, "schools/pick.html", {"schools": schools})


@login_required
def district(request, district_id):
    district = district_admin_or_404(request.user, district_id)
    rows = []
    for school in district.schools.order_by("name"):
        board = day_board(school, school.today()) if school.tracker_enabled else None
        rows.append({"school": school, "board": board})
    totals = {
        "students": sum(r["board"].total for r in rows if r["board"]),
        "missing": sum(r["board"].missing_count for r in rows if r["board"]),
    }
    return render(request, "schools/district.html",
                  {"district": district, "rows": rows, "totals": totals,
                   "other_districts": districts_administered(request.user).exclude(pk=district.pk)})


@login_required
@require_POST
def tracker_toggle(request, district_id, school_id):
    district = district_admin_or_404(request.user, district_id)
    school = get_object_or_404(district.schools, pk=school_id)
    enabled = request.POST.get("enabled") == "on"
    school_tracker_set(school=school, enabled=enabled, actor=request.user)
    state = "on" if enabled else "off"
    messages.success(request, f"The dismissal tracker is {state} for {school.name}.")
    return redirect("schools:district", district.id)
