"""Printable hang tags: a family's car-tag number, big enough to read from the curb, with a QR
code that checks the family in when curb staff scan it.

One PDF per school, or for the tags staff ticked. The tags are read in chunks and laid out
in parts of 100; the PDF goes to a temporary file that the response streams, so a large
school's file is never held as one string. 1,000 tags (500 pages, 1.4 MB) take about 13 s
of one core and 210 MB; a school that large may one day want it from the task worker.
"""

import tempfile
from collections.abc import Iterable, Iterator

import segno
from django.conf import settings
from django.db.models import Prefetch
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.http import urlencode

from lastbell.dismissal.models import CarTag, TagStudent

TAGS_PER_PAGE = 2
TAGS_PER_PART = 100
QR_MASK = 2


def tag_checkin_url(tag: CarTag) -> str:
    """What the tag's QR code carries: the curb screen's address with the tag's random code.
    The curb screen's scanner reads `code` from it; a staff phone's camera opens the curb."""
    path = reverse("dismissal:curb", kwargs={"school_id": tag.school_id})
    return f"{settings.LASTBELL_BASE_URL.rstrip('/')}{path}?{urlencode({'code': tag.code})}"


def tag_qr(payload: str) -> segno.QRCode:
    """The tag's QR code. Level M (raised when it fits the same size) survives a scuffed,
    sun-faded tag. The mask is fixed: choosing the best of eight takes segno about 20 ms a
    code, 20 s for a large school, and the payload is a random code that leaves no long
    runs or finder-like shapes for a mask to break up."""
    return segno.make(payload, error="m", micro=False, mask=QR_MASK)


def tag_qr_png(payload: str) -> str:
    """The QR code as a data: URI of a PNG at one pixel a module, which the print style
    scales up without smoothing: a few hundred bytes each, and quicker for WeasyPrint to
    draw than an SVG."""
    return tag_qr(payload).png_data_uri(border=0, scale=1)


def tags_for_print(school, *, tag_ids: Iterable[int] | None = None):
    """The school's tags in number order with the students on each (active today), ready
    for `hang_tags_pdf`; only `tag_ids` when given."""
    today = school.today()
    members = (
        TagStudent.objects.filter(student__enrolled_on__lte=today)
        .exclude(student__withdrawn_on__lt=today)
        .select_related("student")
        .order_by("student__first_name", "student__last_name")
    )
    tags = CarTag.objects.filter(school=school).order_by("number")
    if tag_ids is not None:
        tags = tags.filter(pk__in=list(tag_ids))
    return tags.prefetch_related(Prefetch("members", queryset=members, to_attr="active_members"))


def short_name(student) -> str:
    """ "Ana R.": enough for staff to call the right child, not a full name on a car mirror."""
    first = student.preferred_name or student.first_name
    return f"{first} {student.last_name[:1]}." if student.last_name else first


def _printed(tag: CarTag) -> dict:
    return {
        "number": tag.number,
        "digits": min(len(str(tag.number)), 5),
        "names": [short_name(m.student) for m in tag.active_members],
        "qr": tag_qr_png(tag_checkin_url(tag)),
    }


def hang_tags_html(school, tags) -> Iterator[str]:
    """The print document of `tags` (a queryset from `tags_for_print`) in parts of
    TAGS_PER_PART tags, read from the database in chunks as the parts are made."""
    printed = []
    for tag in tags.iterator(chunk_size=500):
        printed.append(_printed(tag))
        if len(printed) == TAGS_PER_PART:
            yield _part(school, printed)
            printed = []
    if printed:
        yield _part(school, printed)


def _part(school, printed: list[dict]) -> str:
    pages = [printed[i : i + TAGS_PER_PAGE] for i in range(0, len(printed), TAGS_PER_PAGE)]
    return render_to_string("dismissal/tags_print.html", {"school": school, "pages": pages})


def hang_tags_pdf(school, tags):
    """The hang tags as one PDF in an open temporary file, at its start (deleted when
    closed). WeasyPrint lays out each part on its own, which is quicker than one long
    document (its layout slows down as a document grows), then writes all the pages."""
    from weasyprint import HTML  # imported here: it loads Pango, which only this needs

    documents = [HTML(string=part).render() for part in hang_tags_html(school, tags)]
    pages = [page for document in documents for page in document.pages]
    out = tempfile.TemporaryFile()  # noqa: SIM115 — the response closes it
    documents[0].copy(pages).write_pdf(out)
    out.seek(0)
    return out
