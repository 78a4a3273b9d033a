"""Privacy pages: a student's records request and erasure, and the district's retention.

The export is for school admins and district admins; the erasure and the retention for
district admins only. Each is audited.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from lastbell.accounts.access import district_admin_or_404
from lastbell.plans.views import SchoolPage, form_invalid
from lastbell.privacy import services
from lastbell.privacy.export import student_export_zip
from lastbell.privacy.forms import EraseForm, RetentionForm
from lastbell.privacy.models import RetentionPolicy


def _page_and_student(request, school_id, student_id):
    # Withdrawn students too, and with the tracker off: records outlive both.
    page = SchoolPage(request, school_id, tracker_required=False)
    if not page.access.can_administer:
        raise PermissionDenied(
            _("Only the school's administrators can export or erase a student's records. "
              "Ask your principal or district office.")
        )  # fmt: skip
    student = get_object_or_404(page.school.students.select_related("school"), pk=student_id)
    return page, student


def _require_district_admin(page):
    if not page.access.is_district_admin:
        raise PermissionDenied(
            _("Only a district admin can erase a student's personal data. "
              "Ask your district office.")
        )  # fmt: skip


@login_required
def student(request, school_id, student_id):
    page, pupil = _page_and_student(request, school_id, student_id)
    context = page.context("students", student=pupil, erase_problem=services.erase_problem(pupil))
    return render(request, "privacy/student.html", context)


@login_required
@never_cache
@require_POST
def export(request, school_id, student_id):
    page, pupil = _page_and_student(request, school_id, student_id)
    data = student_export_zip(pupil)
    services.student_exported(student=pupil, actor=request.user)
    response = HttpResponse(data, content_type="application/zip")
    name = f"student-{pupil.pk}-record-{timezone.localdate().isoformat()}.zip"
    response["Content-Disposition"] = content_disposition_header(True, name)
    return response


@login_required
@require_http_methods(["GET", "POST"])
def erase(request, school_id, student_id):
    page, pupil = _page_and_student(request, school_id, student_id)
    _require_district_admin(page)
    problem = services.erase_problem(pupil)
    if problem:
        messages.error(request, problem)
        return redirect("privacy:student", page.school.id, pupil.id)
    form = EraseForm(request.POST or None, student=pupil)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                services.student_erase(student=pupil, actor=request.user)
            except ValidationError as exc:
                messages.error(request, " ".join(exc.messages))
            else:
                messages.success(
                    request, _("The student's personal data is erased. The counts stay.")
                )
            return redirect("privacy:student", page.school.id, pupil.id)
        form_invalid(request)
        status = 400
    context = page.context("students", student=pupil, form=form)
    return render(request, "privacy/erase.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def retention(request, district_id):
    district = district_admin_or_404(request.user, district_id)
    policy = RetentionPolicy.for_district(district)
    form = RetentionForm(request.POST or None, instance=policy)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            services.retention_policy_save(policy=form.instance, actor=request.user)
            messages.success(request, _("The retention is saved. It applies from tonight."))
            return redirect("privacy:retention", district.id)
        form_invalid(request)
        status = 400
    return render(
        request, "privacy/retention.html",
        {"district": district, "form": form, "policy": policy},
        status=status,
    )  # fmt: skip
