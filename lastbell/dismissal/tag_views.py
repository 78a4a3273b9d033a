"""Families and their car tags (issue 5 §2): who shares which number, new families' tags,
and the hang tags to print.

For the school's admins and dismissal staff (district admins too); a teacher is refused
(403), anyone else finds no such school (404).
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import FileResponse
from django.shortcuts import redirect, render
from django.utils.http import urlencode
from django.utils.text import slugify
from django.views.decorators.http import require_GET, require_POST

from lastbell.dismissal import hang_tags, services
from lastbell.dismissal.models import CarTag, TagStudent
from lastbell.people.models import GuardianLink, Student
from lastbell.plans.views import SchoolPage

FAMILIES_PER_PAGE = 50


def _tags_page(request, school_id) -> SchoolPage:
    page = SchoolPage(request, school_id)
    page.access.require_edit()
    return page


def _search(tags, query: str):
    """A tag number, or words that each match a student's or a guardian's name."""
    if query.isdigit():
        return tags.filter(number=int(query))
    for word in query.split():
        match = (
            Q(student__first_name__icontains=word) | Q(student__last_name__icontains=word)
            | Q(student__preferred_name__icontains=word)
            | Q(student__guardian_links__guardian__first_name__icontains=word)
            | Q(student__guardian_links__guardian__last_name__icontains=word)
        )  # fmt: skip
        tags = tags.filter(pk__in=TagStudent.objects.filter(match).values("tag_id"))
    return tags


def _families(tags: list[CarTag]) -> list[dict]:
    """Each tag with its students (active today) and their guardians, in two queries for
    the whole page: the members come prefetched, the guardians here."""
    student_ids = [m.student_id for tag in tags for m in tag.active_members]
    guardians: dict[int, list] = {}
    links = GuardianLink.objects.filter(student_id__in=student_ids).select_related("guardian")
    for link in links.order_by("guardian__last_name", "guardian__first_name"):
        guardians.setdefault(link.student_id, []).append(link.guardian)
    families = []
    for tag in tags:
        seen: dict[int, object] = {}
        for member in tag.active_members:
            for guardian in guardians.get(member.student_id, []):
                seen.setdefault(guardian.pk, guardian)
        families.append({
            "tag": tag, "students": [m.student for m in tag.active_members],
            "guardians": list(seen.values()),
        })  # fmt: skip
    return families


@login_required
@require_GET
def tags(request, school_id):
    page = _tags_page(request, school_id)
    query = request.GET.get("q", "").strip()[:100]
    found = hang_tags.tags_for_print(page.school)
    if query:
        found = _search(found, query)
    page_obj = Paginator(found, FAMILIES_PER_PAGE).get_page(request.GET.get("page"))
    untagged = (
        Student.objects.filter(school=page.school).active_on(page.today)
        .filter(tag__isnull=True).count()
    )  # fmt: skip
    context = page.context(
        "dismissal", screen="tags", page_obj=page_obj,
        families=_families(list(page_obj.object_list)), query=query,
        query_string=urlencode({"q": query}) if query else "",
        untagged=untagged, total=CarTag.objects.filter(school=page.school).count(),
    )  # fmt: skip
    template = "dismissal/tags.html#results" if request.htmx else "dismissal/tags.html"
    return render(request, template, context)


@login_required
@require_POST
def tags_assign(request, school_id):
    page = _tags_page(request, school_id)
    given = services.tags_assign(page.school, actor=request.user)
    if given:
        messages.success(
            request, f"Gave car tags to {given} student{'s' if given != 1 else ''}. Brothers "
            "and sisters share their family's number; print the new families' hang tags below."
        )  # fmt: skip
    else:
        messages.success(request, "Every student already has a car tag. Nothing changed.")
    return redirect("dismissal:tags", page.school.id)


@login_required
@require_GET
def tags_pdf(request, school_id):
    """The hang tags as one PDF: the ticked ones (`?tag=<id>`, repeated, from the list's form,
    which also sends `ticked`), else all of the school's."""
    page = _tags_page(request, school_id)
    ticked = request.GET.getlist("tag")
    if not ticked and request.GET.get("ticked"):
        # "Print the ticked hang tags" with nothing ticked: not every tag of the school.
        messages.error(request, "Tick the families whose hang tags you want, then print.")
        return redirect("dismissal:tags", page.school.id)
    chosen = [int(value) for value in ticked if value.isdigit()] if ticked else None
    selected = hang_tags.tags_for_print(page.school, tag_ids=chosen)
    if not selected.exists():
        messages.error(
            request, "No car tags to print. Tick the families whose tags you want, or give "
            "car tags to new families first."
        )  # fmt: skip
        return redirect("dismissal:tags", page.school.id)
    pdf = hang_tags.hang_tags_pdf(page.school, selected)
    name = f"car-tags-{slugify(page.school.name) or page.school.id}.pdf"
    return FileResponse(pdf, content_type="application/pdf", filename=name)
