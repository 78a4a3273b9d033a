"""The Programs tab: after-school programs and who attends on which days."""

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from lastbell.plans import services, weekdays
from lastbell.plans.forms import EnrollForm, ProgramForm
from lastbell.plans.models import Enrollment, Program
from lastbell.plans.views import SchoolPage, apply_errors, form_invalid


def _programs_page(request, school_id) -> SchoolPage:
    page = SchoolPage(request, school_id)
    page.access.require_edit()  # teachers see plans, not the program catalogue
    return page


@login_required
def program_list(request, school_id):
    page = _programs_page(request, school_id)
    today = page.today
    programs = page.school.programs.annotate(
        enrolled=Count(
            "enrollments__student",
            filter=Q(enrollments__ends_on__isnull=True) | Q(enrollments__ends_on__gte=today),
            distinct=True,
        )
    )
    current = [p for p in programs if p.ends_on >= today]
    past = [p for p in programs if p.ends_on < today]
    return render(
        request,
        "plans/programs.html",
        page.context("programs", programs=current, past_programs=past),
    )


@login_required
@require_http_methods(["GET", "POST"])
def program_edit(request, school_id, program_id=None):
    page = _programs_page(request, school_id)
    program = None
    if program_id is not None:
        program = get_object_or_404(Program, pk=program_id, school=page.school)
    initial = {} if program else {"starts_on": page.today, "end_time": "17:30"}
    form = ProgramForm(request.POST or None, instance=program, school=page.school, initial=initial)
    if request.method == "POST" and form.is_valid():
        saved = services.program_save(program=form.save(commit=False), actor=request.user)
        messages.success(request, f"Saved {saved.name}.")
        return redirect("plans:program", page.school.id, saved.id)
    return render(
        request,
        "plans/program_form.html",
        page.context("programs", form=form, program=program),
        status=form_invalid(request) if request.method == "POST" else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def program_detail(request, school_id, program_id):
    page = _programs_page(request, school_id)
    program = get_object_or_404(Program, pk=program_id, school=page.school)
    form = EnrollForm(request.POST or None, program=program, today=page.today)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            enrollment = services.enrollment_create(
                program=program, student=data["student"],
                weekday_mask=weekdays.mask_of(data["days"]), starts_on=data["starts_on"],
                ends_on=data["ends_on"], actor=request.user,
            )  # fmt: skip
        except ValidationError as exc:
            apply_errors(exc, form)
        else:
            messages.success(
                request,
                f"Enrolled {enrollment.student.full_name} on {enrollment.days_label}.",
            )
            return redirect("plans:program", page.school.id, program.id)
    enrollments = (
        program.enrollments.select_related("student", "set_by")
        .filter(Q(ends_on__isnull=True) | Q(ends_on__gte=page.today))
        .order_by("student__last_name", "student__first_name")
    )
    return render(
        request,
        "plans/program_detail.html",
        page.context("programs", program=program, form=form, enrollments=enrollments),
        status=form_invalid(request) if request.method == "POST" else 200,
    )


@login_required
@require_POST
def enrollment_end(request, school_id, program_id, enrollment_id):
    page = _programs_page(request, school_id)
    enrollment = get_object_or_404(
        Enrollment.objects.select_related("student", "program"),
        pk=enrollment_id,
        program_id=program_id,
        program__school=page.school,
    )
    services.enrollment_end(
        enrollment=enrollment, last_day=page.today - dt.timedelta(days=1), actor=request.user
    )
    messages.success(
        request, f"{enrollment.student.full_name} no longer attends {enrollment.program.name}."
    )
    return redirect(reverse("plans:program", args=[page.school.id, program_id]))
