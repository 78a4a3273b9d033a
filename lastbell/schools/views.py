"""Where a staff member lands: their school, a choice of schools, or the district overview."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from lastbell.accounts.access import district_admin_or_404, districts_administered, schools_for
from lastbell.plans.board import day_board
from lastbell.plans.views import SchoolPage, form_invalid
from lastbell.schools import services
from lastbell.schools.forms import BusRouteForm, CalendarDayForm, SchoolSettingsForm, TermForm
from lastbell.schools.models import BusRoute, CalendarDay


@login_required
def home(request):
    districts = list(districts_administered(request.user))
    if districts:
        return redirect("schools:district", districts[0].id)
    schools = list(schools_for(request.user)[:2])
    if len(schools) == 1:
        return redirect("plans:dashboard", schools[0].id)
    if not schools and hasattr(request.user, "guardian"):
        return redirect("family:home")
    return pick(request)


@login_required
def pick(request):
    schools = list(schools_for(request.user).order_by("district__name", "name"))
    if not schools:
        raise PermissionDenied(
            "This account has no staff access to any school. If you are a parent, use the "
            "sign-in link the school sent you."
        )
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
    return render(
        request,
        "schools/district.html",
        {
            "district": district,
            "rows": rows,
            "totals": totals,
            "other_districts": districts_administered(request.user).exclude(pk=district.pk),
        },
    )


@login_required
@require_POST
def tracker_toggle(request, district_id, school_id):
    district = district_admin_or_404(request.user, district_id)
    school = get_object_or_404(district.schools, pk=school_id)
    enabled = request.POST.get("enabled") == "on"
    services.school_tracker_set(school=school, enabled=enabled, actor=request.user)
    state = "on" if enabled else "off"
    messages.success(request, f"The dismissal tracker is {state} for {school.name}.")
    return redirect("schools:district", district.id)


# --- Settings tab: school admins and district admins ---------------------------------------


def _settings_page(request, school_id):
    # Settings stay open with the tracker off: a school sets up its calendar first.
    page = SchoolPage(request, school_id, tracker_required=False)
    page.access.require_admin()
    return page


def _render_settings(request, page, status=200, **forms_):
    if status == 400:
        form_invalid(request)
    school = page.school
    context = page.context(
        "settings",
        settings_form=forms_.get("settings_form") or SchoolSettingsForm(instance=school),
        day_form=forms_.get("day_form") or CalendarDayForm(school=school),
        term_form=forms_.get("term_form") or TermForm(school=school),
        route_form=forms_.get("route_form") or BusRouteForm(school=school),
        terms=school.terms.all(),
        calendar_days=school.calendar_days.filter(date__gte=page.today),
        past_days=school.calendar_days.filter(date__lt=page.today).count(),
        routes=school.bus_routes.all(),
    )  # fmt: skip
    return render(request, "schools/settings.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def settings(request, school_id):
    page = _settings_page(request, school_id)
    if request.method == "POST":
        form = SchoolSettingsForm(request.POST, instance=page.school)
        if form.is_valid():
            services.school_settings_save(school=form.save(commit=False), actor=request.user)
            messages.success(request, "Saved the school's settings.")
            return redirect("schools:settings", page.school.id)
        return _render_settings(request, page, 400, settings_form=form)
    return _render_settings(request, page)


def _settings_add(request, school_id, *, form_class, form_key, save, anchor, done):
    """Add a calendar entry, a term or a bus route from its form on the Settings tab."""
    page = _settings_page(request, school_id)
    form = form_class(request.POST, school=page.school)
    if not form.is_valid():
        return _render_settings(request, page, 400, **{form_key: form})
    saved = save(form.save(commit=False), actor=request.user)
    messages.success(request, done(saved))
    return redirect(reverse("schools:settings", args=[page.school.id]) + anchor)


@login_required
@require_POST
def calendar_day_add(request, school_id):
    return _settings_add(
        request, school_id, form_class=CalendarDayForm, form_key="day_form",
        save=lambda day, actor: services.calendar_day_save(day=day, actor=actor),
        anchor="#calendar",
        done=lambda day: f"{day.date:%A, %B %-d} is now: {day.get_kind_display()}.",
    )  # fmt: skip


@login_required
@require_POST
def term_add(request, school_id):
    return _settings_add(
        request, school_id, form_class=TermForm, form_key="term_form",
        save=lambda term, actor: services.term_save(term=term, actor=actor),
        anchor="#calendar", done=lambda term: f"Added the term {term.name}.",
    )  # fmt: skip


@login_required
@require_POST
def bus_route_add(request, school_id):
    return _settings_add(
        request, school_id, form_class=BusRouteForm, form_key="route_form",
        save=lambda route, actor: services.bus_route_save(route=route, actor=actor),
        anchor="#buses", done=lambda route: f"Added {route}.",
    )  # fmt: skip


@login_required
@require_POST
def calendar_day_delete(request, school_id, day_id):
    page = _settings_page(request, school_id)
    day = get_object_or_404(CalendarDay, pk=day_id, school=page.school)
    if day.date < page.today:
        messages.error(request, "Past days keep the calendar they had; this entry stays.")
        return redirect(reverse("schools:settings", args=[page.school.id]) + "#calendar")
    services.calendar_day_delete(day=day, actor=request.user)
    messages.success(request, f"Removed the calendar entry of {day.date:%B %-d}.")
    return redirect(reverse("schools:settings", args=[page.school.id]) + "#calendar")


@login_required
@require_POST
def bus_route_toggle(request, school_id, route_id):
    page = _settings_page(request, school_id)
    route = get_object_or_404(BusRoute, pk=route_id, school=page.school)
    route.active = not route.active
    services.bus_route_save(route=route, actor=request.user)
    state = "back in service" if route.active else "out of service; existing plans keep it"
    messages.success(request, f"{route} is {state}.")
    return redirect(reverse("schools:settings", args=[page.school.id]) + "#buses")
