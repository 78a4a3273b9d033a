"""Which language a page is in: the browser's for staff pages, the guardian's saved one for
guardian pages and messages (lastbell/i18n.py)."""

from django.contrib.auth.models import AnonymousUser
from django.middleware.locale import LocaleMiddleware
from django.template import engines
from django.template.response import TemplateResponse
from django.test import RequestFactory
from django.urls import reverse
from django.utils import translation
from django.utils.html import escape
from django.views.generic import TemplateView
from pytest_django.asserts import assertContains, assertNotContains, assertRedirects

from lastbell import testing
from lastbell.i18n import (
    GuardianLanguageMixin,
    guardian_language,
    in_guardian_language,
    language_of,
)

SIGN_IN = "/accounts/sign-in/"
SIGN_OUT_TEMPLATE = (
    '{% load i18n %}{% get_current_language as lang %}{{ lang }}: {% translate "Sign out" %}'
)


def test_it_shows_the_sign_in_page_in_english_by_default(client, db):
    r = client.get(SIGN_IN)

    assertContains(r, '<html lang="en">')
    assertContains(r, "<h1>Sign in</h1>", html=False)
    assertContains(r, "Skip to content")
    assert r.headers["Content-Language"] == "en"


def test_it_follows_a_browser_that_asks_for_spanish(client, db):
    r = client.get(SIGN_IN, headers={"accept-language": "es-MX,es;q=0.9,en;q=0.5"})

    assertContains(r, '<html lang="es">')
    assertContains(r, "<title>Iniciar sesión · Last Bell</title>", html=False)
    assertContains(r, "<h1>Iniciar sesión</h1>", html=False)
    assertContains(r, "Saltar al contenido")
    assertContains(r, "Correo electrónico")
    assertContains(r, "Contraseña")  # Django's own catalog
    assertNotContains(r, "Sign in")
    assert r.headers["Content-Language"] == "es"
    assert "Accept-Language" in r.headers["Vary"]


def test_it_says_why_sign_in_failed_in_spanish(client, staff):
    r = client.post(
        SIGN_IN,
        {"username": staff.email, "password": "wrong horse"},
        headers={"accept-language": "es"},
    )

    assertContains(r, escape("Ese correo electrónico y esa contraseña no coinciden"))


def test_it_shows_the_error_pages_in_spanish(client, db):
    r = client.get("/no-such-page/", headers={"accept-language": "es"})

    assertContains(r, "No encontramos esa página", status_code=404)
    assertContains(r, "Ir a su página de inicio", status_code=404)


def test_it_switches_language_with_the_language_form(client, db):
    r = client.post(reverse("set_language"), {"language": "es", "next": SIGN_IN})

    assertRedirects(r, SIGN_IN, fetch_redirect_response=False)
    assert r.cookies["django_language"].value == "es"
    # The cookie wins over the browser's own preference from now on.
    r = client.get(SIGN_IN, headers={"accept-language": "en"})
    assertContains(r, "Iniciar sesión")


def test_it_renders_the_language_switcher(rf):
    request = rf.get("/family/")
    template = engines["django"].get_template("i18n/language_switcher.html")

    with translation.override("en"):
        english = template.render({}, request)
    with translation.override("es"):
        spanish = template.render({}, request)

    assert f'action="{reverse("set_language")}"' in english
    assert 'name="next" value="/family/"' in english
    assert 'name="language" value="es" lang="es">Español</button>' in english
    assert 'value="en"' not in english
    assert 'name="language" value="en" lang="en">English</button>' in spanish


# --- the guardian's saved language ------------------------------------------------------


def test_it_takes_the_guardians_language_or_english(guardian):
    for saved, used in [("es", "es"), ("es-MX", "es"), ("en", "en"), ("fr", "en"), ("", "en")]:
        guardian.language = saved
        assert language_of(guardian) == used, saved


def test_it_writes_in_the_guardians_language_then_goes_back(guardian):
    guardian.language = "es"

    with translation.override("en"):
        with guardian_language(guardian):
            inside = translation.gettext("Sign out")
        after = translation.gettext("Sign out")

    assert (inside, after) == ("Cerrar sesión", "Sign out")


def _template_view(request):
    """A view whose page is rendered after it returns, as a class-based view's is."""
    return TemplateResponse(request, engines["django"].from_string(SIGN_OUT_TEMPLATE))


def _through_locale_middleware(view, request):
    """The request as Django handles it: the browser's language first, then the view."""

    def handler(request):
        return view(request).render()

    return LocaleMiddleware(handler)(request)


def test_it_shows_a_guardian_page_in_the_guardians_language(guardian):
    guardian.language = "es"
    guardian.save()
    request = RequestFactory().get("/family/", headers={"accept-language": "en"})
    request.user = guardian.user

    response = _through_locale_middleware(in_guardian_language(_template_view), request)

    assert response.content.decode() == "es: Cerrar sesión"
    assert response.headers["Content-Language"] == "es"
    assert request.LANGUAGE_CODE == "es"


def test_it_leaves_staff_pages_in_the_browsers_language(staff):
    request = RequestFactory().get("/family/", headers={"accept-language": "es"})
    request.user = staff

    response = _through_locale_middleware(in_guardian_language(_template_view), request)

    assert response.content.decode() == "es: Cerrar sesión"


def test_it_leaves_signed_out_visitors_in_the_browsers_language(db):
    request = RequestFactory().get("/family/", headers={"accept-language": "en"})
    request.user = AnonymousUser()

    response = _through_locale_middleware(in_guardian_language(_template_view), request)

    assert response.content.decode() == "en: Sign out"


class _GuardianPage(GuardianLanguageMixin, TemplateView):
    def get_template_names(self):
        return engines["django"].from_string(SIGN_OUT_TEMPLATE)  # a template, not a name


def test_it_shows_a_class_based_guardian_page_in_the_guardians_language(guardian):
    guardian.language = "es"
    guardian.save()
    request = RequestFactory().get("/family/", headers={"accept-language": "en"})
    request.user = guardian.user

    response = _through_locale_middleware(_GuardianPage.as_view(), request)

    assert response.content.decode() == "es: Cerrar sesión"
    assert response.headers["Content-Language"] == "es"


def test_it_reads_the_guardian_from_get_guardian(school, student):
    spanish = testing.make_guardian(student, first="Rosa", with_user=False, language="es")

    class StaffPageAboutAGuardian(_GuardianPage):
        def get_guardian(self):
            return spanish

    request = RequestFactory().get("/", headers={"accept-language": "en"})
    request.user = AnonymousUser()

    response = _through_locale_middleware(StaffPageAboutAGuardian.as_view(), request)

    assert response.content.decode() == "es: Cerrar sesión"
