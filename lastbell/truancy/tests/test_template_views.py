"""Editing the district's letter templates, with a live preview (htmx, no inline script)."""

import html
import re

import pytest
from django.urls import reverse

from lastbell.audit.models import AuditEvent
from lastbell.truancy.models import LetterTemplate


@pytest.fixture
def signed_in(client, district_admin):
    client.force_login(district_admin)
    return client


def edit_url(district, level=1, language="es"):
    return reverse("truancy:district_template", args=[district.pk, level, language])


def test_the_list_names_each_letter_and_language(signed_in, district):
    page = signed_in.get(reverse("truancy:district_templates", args=[district.pk]))
    text = page.content.decode()
    assert "Letter 3: habitual truant, SARB referral" in text and "Español" in text
    assert text.count("Default text") == 6
    assert 'aria-label="Edit Letter 1: first truancy notice in Español"' in text


def test_the_editor_starts_from_the_default_and_previews_it(signed_in, district):
    page = signed_in.get(edit_url(district)).content.decode()
    assert "Aviso de ausentismo escolar de {{ student.full_name }}" in page  # the subject field
    assert "{{ guardian_names }}" in page  # the letter, as text to edit
    assert 'data-testid="preview-subject">Aviso de ausentismo escolar de Ana Rivera<' in page
    assert "Estimada familia de Ana Rivera (Maria Lopez y Jose Lopez):" in page
    # The live preview is htmx attributes; the page carries no script of its own.
    assert 'hx-post="' in page and 'hx-vals=\'{"action": "preview"}\'' in page
    scripts = re.findall(r"<script[^>]*>", page)
    assert all("src=" in tag for tag in scripts)


def test_the_preview_follows_the_text_as_typed(signed_in, district):
    response = signed_in.post(
        edit_url(district), {"action": "preview", "subject": "Hola {{ student.first_name }}",
                             "body": "<p>{{ guardian_names }}: <b>{{ count }}</b></p>"},
        headers={"HX-Request": "true"},
    )  # fmt: skip
    text = response.content.decode()
    assert text.lstrip().startswith('<section id="letter-preview"')
    assert ">Hola Ana<" in text and "<p>Maria Lopez y Jose Lopez: <b>3</b></p>" in text
    assert not LetterTemplate.objects.exists()


def test_the_preview_explains_what_cant_be_used(signed_in, district):
    response = signed_in.post(
        edit_url(district), {"action": "preview", "subject": "Hi",
                             "body": "{% load static %}<script>x()</script>{{ settings.DEBUG }}"},
        headers={"HX-Request": "true"},
    )  # fmt: skip
    text = html.unescape(response.content.decode())
    assert "This text can't be used yet" in text
    assert "letters can't use {% load %}" in text and "letters can't contain <script>" in text
    assert "“settings” is not a merge field" in text
    assert "x()</script>" not in response.content.decode()


def test_saving_is_audited_and_a_wrong_text_is_not_saved(signed_in, district, district_admin):
    response = signed_in.post(
        edit_url(district),
        {"action": "save", "subject": "Aviso", "body": "<p>{% include 'x.html' %}</p>"},
    )
    assert response.status_code == 400
    assert "letters can't use {% include %}" in response.content.decode().replace("&#x27;", "'")
    assert not LetterTemplate.objects.exists()
    response = signed_in.post(edit_url(district), {
        "action": "save", "subject": "Aviso para {{ guardian_names }}",
        "body": "<p>Hola {{ guardian_names }}</p>"}, follow=True)  # fmt: skip
    assert "Saved letter 1 in Español." in response.content.decode()
    saved = LetterTemplate.objects.get()
    assert (saved.district, saved.level, saved.language, saved.updated_by) == (
        district, 1, "es", district_admin)  # fmt: skip
    assert AuditEvent.objects.filter(action="truancy.template.saved").count() == 1
    listing = signed_in.get(reverse("truancy:district_templates", args=[district.pk]))
    assert "Your own text" in listing.content.decode()
    signed_in.post(edit_url(district), {"action": "reset"})
    assert not LetterTemplate.objects.exists()


@pytest.mark.parametrize(("level", "language"), [(1, "fr"), (9, "en"), (0, "en")])
def test_an_unknown_letter_is_404(signed_in, district, level, language):
    assert signed_in.get(edit_url(district, level, language)).status_code == 404
