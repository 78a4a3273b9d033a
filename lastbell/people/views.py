"""A student's "Pickup and custody" page for staff: guardians, authorized adults, restrictions.

Staff who may edit the school see everything and change it. A teacher sees the names for a
student of their homeroom (who may take the child, who must not) but no phone numbers, no
court order details and no files. Photos and court orders are sent only by the views here,
after the same checks as the page.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from lastbell.people import services
from lastbell.people.files import private_file_response
from lastbell.people.forms import AdultForm, RestrictionEndForm, RestrictionForm
from lastbell.people.models import AuthorizedAdult, CustodyRestriction, PickupSource
from lastbell.plans.views import SchoolPage, apply_errors, form_invalid


def _page_and_student(request, school_id, student_id):
    page = SchoolPage(request, school_id)
    students = page.school.students.all()
    if page.access.homeroom_ids is not None:
        students = students.filter(homeroom_id__in=page.access.homeroom_ids)
    return page, get_object_or_404(students.select_related("homeroom", "school"), pk=student_id)


def _require_files(page):
    """Photos and court orders are for the office, not for a teacher's screen."""
    if not page.access.can_edit:
        raise PermissionDenied(
            "Photos and court orders are shown to the school's office staff only. "
            "Ask the front office if you need to see one."
        )


def _pickup_url(page, pupil, anchor=""):
    return reverse("people:pickup", args=[page.school.id, pupil.id]) + anchor


def _render_pickup(request, page, pupil, status=200, **forms_):
    if status == 400:
        form_invalid(request)
    today = page.today
    restrictions = CustodyRestriction.objects.filter(student=pupil).select_related(
        "recorded_by", "ended_by"
    )
    current = list(restrictions.current_or_upcoming(today))
    for restriction in current:
        restriction.in_effect = restriction.starts_on <= today
    past = [r for r in restrictions if r not in current]
    people = services.pickup_people(pupil, today)
    removed_adults = (
        AuthorizedAdult.objects.filter(student=pupil, removed_at__isnull=False)
        .select_related("removed_by")
        .order_by("-removed_at")
    )
    context = page.context(
        "pickup", student=pupil,
        guardians_on_file=[p for p in people if p.is_guardian],
        adults_on_file=[p for p in people if not p.is_guardian],
        restrictions=current, past_restrictions=past,
        removed_adults=removed_adults,
        adult_form=forms_.get("adult_form") or AdultForm(),
        restriction_form=forms_.get("restriction_form")
        or RestrictionForm(initial={"starts_on": today}, today=today),
    )  # fmt: skip
    return render(request, "people/pickup.html", context, status=status)


@login_required
@require_GET
def pickup(request, school_id, student_id):
    page, pupil = _page_and_student(request, school_id, student_id)
    return _render_pickup(request, page, pupil)


@login_required
@require_POST
def adult_add(request, school_id, student_id):
    page, pupil = _page_and_student(request, school_id, student_id)
    page.access.require_edit()
    form = AdultForm(request.POST, request.FILES)
    if form.is_valid():
        data = form.cleaned_data
        try:
            adult = services.adult_add(
                student=pupil, actor=request.user, source=PickupSource.STAFF,
                first_name=data["first_name"], last_name=data["last_name"],
                relationship=data["relationship"], phone=data["phone"], photo=data["photo"],
                note=data["note"],
            )  # fmt: skip
        except ValidationError as exc:
            apply_errors(exc, form)
        else:
            messages.success(
                request,
                f"Added {adult.full_name} to {pupil.full_name}'s pickup list. "
                "Mark them verified once you have seen their photo ID.",
            )
            return redirect(_pickup_url(page, pupil, "#adults"))
    return _render_pickup(request, page, pupil, 400, adult_form=form)


@login_required
@require_POST
def adult_remove(request, school_id, student_id, adult_id):
    page, pupil = _page_and_student(request, school_id, student_id)
    page.access.require_edit()
    adult = get_object_or_404(AuthorizedAdult, pk=adult_id, student=pupil)
    services.adult_remove(adult=adult, actor=request.user, source=PickupSource.STAFF)
    messages.success(request, f"Removed {adult.full_name} from {pupil.full_name}'s pickup list.")
    return redirect(_pickup_url(page, pupil, "#adults"))


@login_required
@require_POST
def adult_verify(request, school_id, student_id, adult_id):
    page, pupil = _page_and_student(request, school_id, student_id)
    page.access.require_edit()
    adult = get_object_or_404(AuthorizedAdult, pk=adult_id, student=pupil)
    try:
        services.adult_verify(adult=adult, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"{adult.full_name} is verified.")
    return redirect(_pickup_url(page, pupil, "#adults"))


@login_required
@never_cache
@require_GET
def adult_photo(request, school_id, student_id, adult_id):
    page, pupil = _page_and_student(request, school_id, student_id)
    _require_files(page)
    adult = get_object_or_404(AuthorizedAdult, pk=adult_id, student=pupil)
    if not adult.photo:
        raise Http404("No photo.")
    try:
        return private_file_response(
            adult.photo, download_name=f"pickup-adult-{adult.id}", attachment=False
        )
    except FileNotFoundError as exc:
        raise Http404("The photo file is missing.") from exc


@login_required
@require_POST
def restriction_add(request, school_id, student_id):
    page, pupil = _page_and_student(request, school_id, student_id)
    page.access.require_edit()
    form = RestrictionForm(request.POST, request.FILES, today=page.today)
    if form.is_valid():
        data = form.cleaned_data
        try:
            restriction = services.restriction_record(
                student=pupil, actor=request.user, person_name=data["person_name"],
                kind=data["kind"], court_order_reference=data["court_order_reference"],
                starts_on=data["starts_on"], ends_on=data["ends_on"],
                person_description=data["person_description"],
                court_order_file=data["court_order_file"],
            )  # fmt: skip
        except ValidationError as exc:
            apply_errors(exc, form)
        else:
            messages.success(
                request,
                f"Recorded the custody restriction: {restriction}. "
                "It is shown wherever staff release this student.",
            )
            return redirect(_pickup_url(page, pupil, "#custody"))
    return _render_pickup(request, page, pupil, 400, restriction_form=form)


@login_required
@require_http_methods(["GET", "POST"])
def restriction_end(request, school_id, student_id, restriction_id):
    page, pupil = _page_and_student(request, school_id, student_id)
    page.access.require_edit()
    restriction = get_object_or_404(
        CustodyRestriction, pk=restriction_id, student=pupil, ended_at__isnull=True
    )
    form = RestrictionEndForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.restriction_end(
                restriction=restriction, actor=request.user, reason=form.cleaned_data["reason"]
            )
        except ValidationError as exc:
            apply_errors(exc, form)
        else:
            messages.success(
                request, f"Ended the custody restriction: {restriction}. It stays on record."
            )
            return redirect(_pickup_url(page, pupil, "#custody"))
    return render(
        request, "people/restriction_end.html",
        page.context("pickup", student=pupil, restriction=restriction, form=form),
        status=form_invalid(request) if request.method == "POST" else 200,
    )  # fmt: skip


@login_required
@never_cache
@require_GET
def court_order(request, school_id, student_id, restriction_id):
    page, pupil = _page_and_student(request, school_id, student_id)
    _require_files(page)
    restriction = get_object_or_404(CustodyRestriction, pk=restriction_id, student=pupil)
    if not restriction.court_order_file:
        raise Http404("No court order file.")
    try:
        return private_file_response(
            restriction.court_order_file,
            download_name=f"court-order-{restriction.id}",
            attachment=True,
        )
    except FileNotFoundError as exc:
        raise Http404("The court order file is missing.") from exc
