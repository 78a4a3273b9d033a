"""Letters as documents: the task worker makes one PDF per run (a copy per family language,
the district's own text or the default, conference and board details filled in), shows its
progress, and emails each guardian their copy through the outbox, once."""

import datetime as dt
import io

import pytest
from django.urls import reverse
from pypdf import PdfReader

from lastbell import testing
from lastbell.audit.models import AuditEvent
from lastbell.messaging.models import Kind, Message
from lastbell.truancy import services
from lastbell.truancy.models import LetterBatch
from lastbell.truancy.tasks import make_letters
from lastbell.truancy.tests.helpers import DAYS, IMMEDIATE, issue, run, unexcused

pytestmark = pytest.mark.usefixtures("on_school_day")


@pytest.fixture(autouse=True)
def files(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    settings.TASKS = IMMEDIATE
    return tmp_path


@pytest.fixture
def issued(django_capture_on_commit_callbacks):
    """Issue a run and let its commit run the task, as the worker would."""

    def issue_now(*args, **kwargs) -> LetterBatch:
        with django_capture_on_commit_callbacks(execute=True):
            outcome = run(*args, **kwargs)
        outcome.batch.refresh_from_db()
        return outcome.batch

    return issue_now


def pdf_text(batch) -> str:
    reader = PdfReader(io.BytesIO(batch.pdf_path.read_bytes()))
    return " ".join(" ".join(page.extract_text().split()) for page in reader.pages)


@pytest.fixture
def ana(school):
    pupil = testing.make_student(school, first="Ana", last="Rivera", grade="5")
    unexcused(pupil, *DAYS[:3])
    testing.make_guardian(pupil, first="Maria", last="Lopez", language="es",
                          mailing_address="12 Oak Street\nRiverside, CA 92501")  # fmt: skip
    testing.make_guardian(pupil, first="John", last="Rivera", language="en")
    return pupil


def test_the_run_makes_one_pdf_with_a_copy_per_family_language(school, staff, ana, issued):
    ben = testing.make_student(school, first="Ben", last="Nguyen")
    unexcused(ben, *DAYS[:4])  # no guardian on file
    batch = issued(school, 1, staff)
    assert batch.status == LetterBatch.Status.DONE and batch.pdf_pages >= 3
    assert (batch.progress_done, batch.progress_total) == (3, 3)  # copies made
    text = pdf_text(batch)
    # Ana: one copy in English to John, one in Spanish to Maria, with her address.
    assert "Dear John Rivera," in text and "Notice of truancy" in text
    assert "Estimada familia de Ana Rivera (Maria Lopez):" in text
    assert "12 Oak Street Riverside, CA 92501" in text
    assert "September 1, 2026" in text and "1 de septiembre de 2026" in text
    assert "Ana has 3 such days" in text
    # Ben, with nobody on file: to his parent or guardian, in English.
    assert "Dear Parent or Guardian of Ben Nguyen," in text and "Ben has 4 such days" in text
    assert "Dana Office" in text  # who issued it signs it
    assert not Message.objects.exists()  # printed, not emailed


def test_by_email_each_guardian_gets_their_own_copy_in_their_language(school, staff, ana,
                                                                      issued):  # fmt: skip
    ana.guardians.filter(first_name="John").update(email="john@example.org")
    ana.guardians.filter(first_name="Maria").update(email="maria@example.org")
    batch = issued(school, 1, staff, delivery=LetterBatch.Delivery.EMAIL)
    assert batch.emailed == 2 and batch.status == LetterBatch.Status.DONE
    john, maria = Message.objects.order_by("to")
    assert (john.to, john.language, john.kind) == ("john@example.org", "en",
                                                   Kind.TRUANCY_LETTER)  # fmt: skip
    assert john.subject == "Truancy notice for Ana Rivera"
    assert "Dear John Rivera," in john.body and "Maria" not in john.body.split("\n\n")[1]
    assert "This letter comes from Lincoln Elementary by email" in john.body
    assert (maria.language, maria.subject) == ("es", "Aviso de ausentismo escolar de Ana Rivera")
    assert "Estimada familia de Ana Rivera (Maria Lopez):" in maria.body
    assert "<strong>ausentismo escolar injustificado</strong>" in maria.html_body
    assert maria.student == ana and maria.guardian.first_name == "Maria"
    event = AuditEvent.objects.get(action="truancy.batch.emailed")
    assert event.after == {"emails": 2, "students without an email": 0}
    # The worker running the run again emails nobody twice.
    LetterBatch.objects.filter(pk=batch.pk).update(status=LetterBatch.Status.QUEUED)
    make_letters.call(batch.pk)
    assert Message.objects.count() == 2


def test_a_letter_2_names_each_students_own_conference_time(school, staff, issued):
    for name in ("Ana", "Ben"):
        pupil = testing.make_student(school, first=name, last="Family")
        unexcused(pupil, *DAYS[:6])
        issue(pupil, 1)
    details = {"conference": {"place": "Room 4", "first_day": "2026-11-20", "start": "08:00",
                              "until": "15:00", "minutes": 30}}  # fmt: skip
    text = pdf_text(issued(school, 2, staff, details=details))
    assert "Second truancy notice: please meet with us" in text
    assert text.count("November 20, 2026") == 2
    assert "Time 8 a.m. Place Room 4" in text and "Time 8:30 a.m. Place Room 4" in text
    assert text.count("Room 4") == 2


def test_a_letter_3_names_the_board(school, staff, ana, issued):
    unexcused(ana, *DAYS[3:9])
    issue(ana, 1)
    issue(ana, 2)
    details = {
        "board": {
            "name": "Riverside County SARB",
            "place": "District office",
            "date": "2026-12-08",
            "time": "16:00",
            "phone": "(555) 010-0200",
        }
    }
    text = pdf_text(issued(school, 3, staff, details=details))
    assert "referral to the School Attendance Review Board" in text
    assert "We are referring Ana to Riverside County SARB" in text
    assert "December 8, 2026" in text and "4 p.m." in text and "(555) 010-0200" in text
    assert "8 de diciembre de 2026" in text  # Maria's copy


def test_the_districts_own_text_is_used(district, school, staff, ana, issued):
    services.template_save(district=district, level=1, language="en",
                           subject="About {{ student.first_name }}",
                           body="<p>Our own words for {{ guardian_names }}: {{ count }} days.</p>",
                           actor=None)  # fmt: skip
    text = pdf_text(issued(school, 1, staff))
    assert "Our own words for John Rivera: 3 days." in text
    assert "Estimada familia" in text  # Spanish still the default


def test_a_failed_pdf_says_so_and_can_be_made_again(
    school, staff, ana, files, issued, django_capture_on_commit_callbacks
):
    (files / "letters").write_text("not a folder")  # the PDF can't be written
    batch = issued(school, 1, staff)  # the worker logs the error; the run says it
    assert batch.status == LetterBatch.Status.FAILED
    assert "The letters are issued and recorded; only the file is missing" in batch.error
    assert batch.letters.count() == 1
    (files / "letters").unlink()
    with django_capture_on_commit_callbacks(execute=True):
        services.batch_retry(batch=batch, actor=staff)
    batch.refresh_from_db()
    assert batch.status == LetterBatch.Status.DONE and batch.has_pdf()
    assert AuditEvent.objects.filter(action="truancy.batch.retried").count() == 1


def test_the_letter_date_is_the_runs_day_at_the_school(school, staff, ana, issued,
                                                       time_machine):  # fmt: skip
    # 11:30 pm in California is already tomorrow in UTC.
    time_machine.move_to(dt.datetime(2026, 11, 19, 7, 30, tzinfo=dt.UTC), tick=False)
    assert "November 18, 2026" in pdf_text(issued(school, 1, staff))


def test_a_run_whose_worker_stopped_says_so_and_can_be_made_again(client, school, staff, ana,
                                                                  django_capture_on_commit_callbacks,
                                                                  time_machine):  # fmt: skip
    batch = run(school, 1, staff).batch  # its task never runs: the commit is not captured
    LetterBatch.objects.filter(pk=batch.pk).update(status=LetterBatch.Status.RUNNING,
                                                   progress_at=batch.created_at)  # fmt: skip
    client.force_login(staff)
    url = reverse("truancy:school_batch", args=[school.pk, batch.pk])
    assert "Making the PDF: " in client.get(url).content.decode()
    time_machine.shift(dt.timedelta(minutes=11))
    page = client.get(url).content.decode()
    assert "has not moved for more than 10 minutes" in page and "hx-trigger" not in page
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url + "retry/")
    batch.refresh_from_db()
    assert batch.status == LetterBatch.Status.DONE and batch.has_pdf()


@pytest.mark.parametrize("level", [1, 2, 3])
@pytest.mark.parametrize("language", ["en", "es"])
def test_each_default_letter_fits_one_sheet(district, level, language):
    """One sheet per family: the print run is half the paper, and a second page is one the
    family may never see. Spanish runs longest; letter 1 lists six days here, letter 3 eighteen."""
    from weasyprint import HTML

    from lastbell.truancy import documents, sandbox

    fields = documents.sample_fields(district, level, language)
    fields["dates"] = fields["dates"] * 2
    _subject, body = documents.template_text({}, level, language)
    html = documents.print_html([(language, sandbox.Compiled(body).render(fields))])
    reader = PdfReader(io.BytesIO(HTML(string=html).write_pdf()))
    assert len(reader.pages) == 1
