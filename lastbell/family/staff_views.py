"""Staff pages that write to families: "no plan yet" messages and invitations."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from lastbell.family.forms import MissingMessageForm
from lastbell.family.services import invite, missing_plan_message, not_yet_invited
from lastbell.family.tasks import invite_families
from lastbell.i18n import guardian_language
from lastbell.people.models import Student
from lastbell.people.services import guardians_to_tell
from lastbell.plans.views import SchoolPage


def _reachable(student_ids) -> dict[int, int]:
    """How many guardians with an email or a mobile each student has (one query)."""
    counts = (
        Student.objects.filter(pk__in=student_ids)
        .annotate(
            n=Count("guardians", filter=Q(guardians__email__gt="") | Q(guardians__mobile__gt=""))
        )
        .values_list("pk", "n")
    )
    return dict(counts)


def _preview(page, student_ids) -> str:
    """The message the first listed guardian would get, as it will be written (their
    language), with the link left out."""
    student = Student.objects.filter(pk__in=student_ids[:1]).select_related("school").first()
    guardian = next(iter(guardians_to_tell(student, page.date)), None) if student else None
    if guardian is None:
        return ""
    context = {"guardian": guardian, "school": page.school, "student": student,
               "date": page.date, "link": "https://…"}  # fmt: skip
    with guardian_language(guardian):
        return render_to_string("messaging/mail/missing_plan.txt", context).strip()


def _why_not_to_message(page) -> str:
    """A reason the office can't ask parents for a plan for this date, or ""."""
    if not page.school.parent_access:
        return ("Parent access is off for this school: the link in the message would lead "
                "nowhere. Turn it on in Settings, or call the families.")  # fmt: skip
    if page.date < page.school.first_open_date():
        return ("Parents can no longer change this day's plan online (it is past, or past the "
                "same-day cutoff). Call the families instead.")  # fmt: skip
    return ""


@login_required
@require_http_methods(["GET", "POST"])
def missing_message(request, school_id):
    """Message the parents of students with no plan for a date: all, or a selection, with a
    preview and a count before anything is sent."""
    page = SchoolPage(request, school_id)
    page.access.require_edit()
    board = page.board()
    rows = [row for row in board.rows if row.missing] if board.is_school_day else []
    reachable = _reachable([row.student_id for row in rows])
    form = MissingMessageForm(
        request.POST if request.method == "POST" else None, rows=rows,
        initial={"students": [row.student_id for row in rows if reachable.get(row.student_id)]},
    )  # fmt: skip
    blocked = _why_not_to_message(page)
    if request.method == "POST" and blocked:
        messages.error(request, blocked)
        query = f"?date={page.date:%Y-%m-%d}" if page.date != page.today else ""
        return redirect(reverse("families:missing_message", args=[page.school.pk]) + query)
    if request.method == "POST" and form.is_valid():
        chosen = (
            Student.objects.filter(pk__in=form.cleaned_data["students"], school=page.school)
            .select_related("school")
            .prefetch_related("guardians", "custody_restrictions")
        )
        queued = missing_plan_message(
            school=page.school, date=page.date, students=list(chosen), actor=request.user
        )
        count = len(form.cleaned_data["students"])
        messages.success(
            request,
            f"Queued {len(queued)} message{'s' if len(queued) != 1 else ''} to the guardians of "
            f"{count} student{'s' if count != 1 else ''}. Delivery shows under Messages.",
        )
        url = reverse("plans:dashboard", args=[page.school.pk])
        return redirect(url if page.date == page.today else f"{url}?date={page.date:%Y-%m-%d}")
    listed = [(row, reachable.get(row.student_id, 0)) for row in rows]
    preview = _preview(page, [row.student_id for row, n in listed if n]) if not blocked else ""
    return render(
        request, "family/staff/missing_message.html",
        page.context("dashboard", form=form, listed=listed, blocked=blocked, preview=preview,
                     guardians_total=sum(n for _, n in listed),
                     unreachable=sum(1 for _, n in listed if not n)),
        status=400 if request.method == "POST" else 200,
    )  # fmt: skip


@login_required
@require_POST
def guardian_invite(request, school_id, student_id):
    """Send the student's guardians (all, or one) an invitation with a sign-in link."""
    page = SchoolPage(request, school_id, tracker_required=False)
    page.access.require_edit()
    student = get_object_or_404(Student, pk=student_id, school=page.school)
    if not page.school.parent_access:
        messages.error(request, "Turn on parent access in Settings before inviting families.")
        return redirect("plans:student", page.school.pk, student.pk)
    guardians = student.guardians.all()
    if request.POST.get("guardian"):
        guardians = guardians.filter(pk=request.POST["guardian"])
    invited = invite(guardians=list(guardians), school=page.school, actor=request.user)
    if invited:
        messages.success(request, f"Sent {invited} invitation{'s' if invited != 1 else ''}.")
    else:
        messages.error(request, "No guardian of this student has an email or mobile on file.")
    return redirect("plans:student", page.school.pk, student.pk)


@login_required
@require_http_methods(["GET", "POST"])
def invite_all(request, school_id):
    """Invite every family on the roster who has a contact and has never signed in. The task
    worker sends them; the page shows how many are left."""
    page = SchoolPage(request, school_id, tracker_required=False)
    page.access.require_edit()
    pending = not_yet_invited(page.school)
    if request.method == "POST":
        if not page.school.parent_access:
            messages.error(request, "Turn on parent access in Settings before inviting families.")
            return redirect("families:invite_all", page.school.pk)
        count = pending.count()
        invite_families.enqueue(page.school.pk, request.user.pk)
        messages.success(
            request, f"Inviting {count} famil{'ies' if count != 1 else 'y'}: the count below "
            "goes down as the invitations go out, and each shows under Messages.",
        )  # fmt: skip
        return redirect(reverse("families:invite_all", args=[page.school.pk]) + "?running=1")
    context = page.context("messages", count=pending.count(), sample=list(pending[:10]),
                           running=bool(request.GET.get("running")))  # fmt: skip
    if request.htmx:
        return render(request, "family/staff/_invite_count.html", context)
    return render(request, "family/staff/invite_all.html", context)
