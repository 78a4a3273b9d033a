"""Attendance in Last Bell: a student's day set by the office, and a district's codes."""

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from lastbell.accounts.access import district_admin_or_404
from lastbell.attendance import services
from lastbell.attendance.codes import CodeMap
from lastbell.attendance.forms import AttendanceForm, CodeFormSet
from lastbell.attendance.models import Absence, Category
from lastbell.plans.views import SchoolPage, _student_or_404, form_invalid

OUTCOMES = {
    "created": "Recorded", "updated": "Changed", "kept": "No change to",
    "withdrawn": "Marked present:", "none": "Already present:",
}  # fmt: skip


@login_required
@require_http_methods(["GET", "POST"])
def attendance_edit(request, school_id, student_id):
    """Set one day's attendance (?on=YYYY-MM-DD opens that day's record)."""
    page = SchoolPage(request, school_id)
    page.access.require_edit()
    pupil = _student_or_404(page, student_id)
    initial = {"date": page.today, "category": Category.ABSENT_UNEXCUSED}
    try:
        day = dt.date.fromisoformat(request.GET.get("on", ""))
    except ValueError:
        day = None
    current = Absence.objects.filter(student=pupil, date=day).first() if day else None
    if day:
        initial["date"] = day
    if current:
        initial.update(category=Category.of(current.kind, current.excused),
                       minutes=current.minutes, departs_at=current.departs_at,
                       reason=current.reason)  # fmt: skip
    form = AttendanceForm(request.POST or None, initial=initial, student=pupil, today=page.today)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        outcome = services.attendance_set(
            student=pupil, date=data["date"], category=data["category"], actor=request.user,
            minutes=data["minutes"], departs_at=data["departs_at"], reason=data["reason"],
        )  # fmt: skip
        label = dict(Category.choices)[data["category"]].lower()
        messages.success(request, f"{OUTCOMES[outcome]} {pupil.full_name}, "
                         f"{data['date']:%A, %B %-d}: {label}.")  # fmt: skip
        return redirect(reverse("plans:student", args=[page.school.id, pupil.id]) + "#abhead")
    return render(
        request, "attendance/edit.html",
        page.context("students", student=pupil, form=form, current=current),
        status=form_invalid(request) if request.method == "POST" else 200,
    )  # fmt: skip


@login_required
@require_http_methods(["GET", "POST"])
def codes(request, district_id):
    """The district's attendance codes: what each source system's code means."""
    district = district_admin_or_404(request.user, district_id)
    current = CodeMap.for_district(district)
    initial = [{"code": code, "category": category} for code, category in current.codes]
    formset = CodeFormSet(request.POST or None, initial=initial, prefix="codes")
    if request.method == "POST":
        if formset.is_valid():
            services.attendance_codes_save(district=district, codes=formset.codes(),
                                           actor=request.user)  # fmt: skip
            messages.success(request, f"Saved the attendance codes of {district.name}.")
            return redirect("attendance:codes", district.id)
        form_invalid(request)
    return render(
        request, "attendance/codes.html",
        {"district": district, "formset": formset, "own": current.own},
        status=400 if request.method == "POST" else 200,
    )  # fmt: skip
