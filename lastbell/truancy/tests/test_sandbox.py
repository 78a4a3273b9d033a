"""Letter templates run in a sandbox: nothing but the merge fields, no Django tags that reach
files, settings or code, no markup a letter must not carry; and the default letters say
what they must."""

import pytest
from django.core.exceptions import ValidationError

from lastbell import testing
from lastbell.audit.models import AuditEvent
from lastbell.truancy import documents, sandbox, services
from lastbell.truancy.models import LetterTemplate

FIELDS = documents.FIELDS
VALUES = {"student": {"first_name": "Ana", "full_name": "Ana Rivera"}, "dates": ["Sep 1"],
          "school": {"name": "Lincoln"}, "count": 3}  # fmt: skip


def refused(source: str) -> str:
    with pytest.raises(ValidationError) as caught:
        sandbox.check(source, fields=FIELDS)
    return " ".join(caught.value.messages)


@pytest.mark.parametrize(("source", "said"), [
    ("{% load static %}", "letters can't use {% load %}"),
    ("{% include 'base.html' %}", "letters can't use {% include %}"),
    ("{% extends 'base.html' %}", "letters can't use {% extends %}"),
    ("{% debug %}", "letters can't use {% debug %}"),
    ("{% url 'schools:home' %}", "letters can't use {% url %}"),
    ("{% csrf_token %}", "letters can't use {% csrf_token %}"),
    ("{{ settings.SECRET_KEY }}", "“settings” is not a merge field"),
    ("{{ request.user }}", "“request” is not a merge field"),
    ("{{ student.__class__ }}", "{{ student.__class__ }} is not a merge field"),
    ("{{ student._meta }}", "is not a merge field"),
    ("{% if user.is_superuser %}x{% endif %}", "“user” is not a merge field"),
    ("{% for s in Student.objects.all %}{% endfor %}", "“Student” is not a merge field"),
    ("{{ student.first_name|safe }}", "the filter “safe” can't be used"),
    ("{{ dates|join:'x'|escapejs }}", "the filter “escapejs” can't be used"),
    ("<script>alert(1)</script>", "letters can't contain <script>"),
    ("<img src='http://169.254.169.254/'>", "letters can't contain <img>"),
    ("<link rel=stylesheet href='file:///etc/passwd'>", "letters can't contain <link>"),
    ("<p style='background:url(x)'>Hi</p>", "can't have the attribute “style”"),
    ("<p onclick='x()'>Hi</p>", "can't have the attribute “onclick”"),
    ("<p {% if count %}class='x'{% endif %}>Hi</p>", "not among a tag's attributes"),
    ("{% if count %}unclosed", "is not closed"),
    ("{% for a in dates %}{% for b in dates %}{% for c in dates %}{% endfor %}{% endfor %}"
     "{% endfor %}", "at most 2 {% for %} loops"),
])  # fmt: skip
def test_it_refuses_what_a_letter_must_not_do_in_plain_words(source, said):
    assert said in refused(source)


def test_it_says_on_which_line():
    assert refused("<p>Hello</p>\n<p>{% load i18n %}</p>").startswith("Line 2:")


def test_merge_fields_and_loops_render_escaped():
    source = ("<p>{{ student.first_name|upper }} has {{ count }} day{{ count|pluralize }}:</p>"
              "<ul>{% for day in dates %}<li>{{ forloop.counter }}. {{ day }}</li>{% endfor %}"
              "</ul>{% if school.name %}<p>{{ school.name }}</p>{% endif %}")  # fmt: skip
    sandbox.check(source, fields=FIELDS)
    values = {**VALUES, "student": {"first_name": "<b>Ana</b>"}}
    assert sandbox.render(source, values) == (
        "<p>&lt;B&gt;ANA&lt;/B&gt; has 3 days:</p><ul><li>1. Sep 1</li></ul><p>Lincoln</p>"
    )


def test_nothing_beyond_the_merge_fields_is_reachable_even_unchecked():
    # A template that got past the check renders only the plain data it was given: no
    # settings, no request or user, no method that changes anything.
    for source in (
        "{{ settings.SECRET_KEY }}",
        "{{ csrf_token }}{{ request }}{{ user }}",
        "{{ perms }}{{ dates.clear }}{{ student.clear }}{{ student.pop }}",
    ):
        assert sandbox.render(source, VALUES) == ""
    frozen = sandbox.freeze(VALUES)
    sandbox.render("{{ student.clear }}{{ dates.pop }}", VALUES)
    assert dict(frozen["student"]) == VALUES["student"] and frozen["dates"] == ("Sep 1",)
    with pytest.raises(TypeError):
        frozen["student"]["first_name"] = "Eve"  # read-only


def test_the_parser_refuses_underscores_even_without_the_check():
    with pytest.raises(Exception, match="underscores"):
        sandbox.render("{{ student.__class__.__mro__ }}", VALUES)


def test_the_engine_has_no_tag_or_filter_beyond_the_allowed_ones():
    engine = sandbox.engine()
    library = engine.template_builtins
    assert {name for lib in library for name in lib.tags} == {"if", "for", "comment"}
    assert {name for lib in library for name in lib.filters} == set(sandbox.FILTERS)
    assert engine.template_loaders == [] and engine.context_processors == []


def test_cleaning_keeps_only_the_allowed_markup():
    dirty = ('<h1 onclick="x">Hi</h1><script>steal()</script><a href="http://x">link</a>'
             '<p class="small" style="x">ok</p><!-- note --><img src=x>')  # fmt: skip
    assert sandbox.clean_html(dirty) == '<h1>Hi</h1>link<p class="small">ok</p>'


def test_the_plain_text_of_a_letter_keeps_its_words_apart():
    html = "<h1>Notice</h1><p>She is <strong>truant</strong> now.<br>Call us.</p><ul><li>a</li>" \
           "<li>b</li></ul>"  # fmt: skip
    assert sandbox.html_to_text(html) == "Notice\n\nShe is truant now.\nCall us.\n\n- a\n- b"


@pytest.mark.parametrize("language", ["en", "es"])
@pytest.mark.parametrize("level", [1, 2, 3, 4])
def test_every_default_letter_passes_the_sandbox(level, language):
    subject, body = documents.default_template(level, language)
    sandbox.check(subject, fields=FIELDS)
    sandbox.check(body, fields=FIELDS)


# What Education Code 48260.5 asks a first truancy notice to say, as the default says it.
ELEMENTS_48260_5 = {
    "en": [
        "is <strong>truant</strong>",
        "you are required by law to make sure your child attends school",
        "may be guilty of an infraction and may be prosecuted",
        "Alternative educational programs are available in our district",
        "right to meet with school staff",
        "Your child may be subject to prosecution",
        "suspension, restriction or delay of his or her driving privilege",
        "go with your child to school and attend classes with your child for one day",
    ],
    "es": [
        "<strong>ausentismo escolar injustificado</strong>",
        "la ley le obliga a asegurarse de que su hijo o hija asista a la escuela",
        "puede ser culpable de una infracción y puede ser procesado judicialmente",
        "Nuestro distrito ofrece programas educativos alternativos",
        "derecho a reunirse con el personal de la escuela",
        "Su hijo o hija puede ser procesado judicialmente",
        "suspensión, restricción o aplazamiento de su permiso de conducir",
        "acompañe a su hijo o hija a la escuela y asista a clases con él o ella durante un día",
    ],
}


@pytest.mark.parametrize("language", ["en", "es"])
def test_the_default_first_letter_has_what_the_education_code_requires(district, language):
    _subject, body = documents.default_template(1, language)
    html = sandbox.render(body, documents.sample_fields(district, 1, language))
    for element in ELEMENTS_48260_5[language]:
        assert element in html, element
    assert "48260.5" in html


def test_a_district_admin_saves_a_template_only_once_the_sandbox_accepts_it(district):
    admin = testing.make_district_admin(district)
    with pytest.raises(ValidationError) as caught:
        services.template_save(district=district, level=1, language="es", subject="",
                               body="{% load static %}", actor=admin)  # fmt: skip
    assert set(caught.value.message_dict) == {"subject", "body"}
    assert not LetterTemplate.objects.exists() and not AuditEvent.objects.exists()
    services.template_save(district=district, level=1, language="es",
                           subject="Aviso: {{ student.full_name }}", body="<p>Hola</p>",
                           actor=admin)  # fmt: skip
    saved = LetterTemplate.objects.get()
    assert (saved.level, saved.language, saved.updated_by) == (1, "es", admin)
    assert AuditEvent.objects.get(action="truancy.template.saved").after["body"] == "<p>Hola</p>"
    assert services.template_reset(district=district, level=1, language="es", actor=admin)
    assert not LetterTemplate.objects.exists()
    assert AuditEvent.objects.filter(action="truancy.template.reset").count() == 1
