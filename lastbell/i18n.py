"""Which language a page or a message is in: English or Spanish (settings.LANGUAGES).

Staff pages follow the browser: LocaleMiddleware takes the language cookie that
`set_language` (POST /i18n/setlang/) sets, then the Accept-Language header, else English.
Guardian pages and messages to a guardian use the guardian's saved `Guardian.language`
instead, whatever the browser says: a parent reads the same language on a shared family
computer, on their own phone and in the text about the same change.

    from lastbell.i18n import guardian_language, in_guardian_language

    with guardian_language(guardian):      # a message, a task: anything outside a request
        body = render_to_string("messaging/mail/notice.txt", context)

    @in_guardian_language                  # a function view for a signed-in guardian
    def home(request): ...

    class Home(GuardianLanguageMixin, TemplateView): ...
"""

import contextlib
import functools

from django.conf import settings
from django.utils import translation


def language_of(guardian) -> str:
    """The guardian's language if the site offers it ("es-MX" counts as "es"), else English."""
    try:
        return translation.get_supported_language_variant(guardian.language or "")
    except LookupError:
        return settings.LANGUAGE_CODE


@contextlib.contextmanager
def guardian_language(guardian):
    """Everything inside is in the guardian's language; the previous language comes back
    after, so a task that writes to many families in turn cannot leak one's into the next."""
    with translation.override(language_of(guardian)):
        yield


def use_guardian_language(request, guardian) -> str:
    """Switch the rest of this request to the guardian's language.

    `activate`, not `override`: a TemplateResponse is rendered after the view returns, and
    LocaleMiddleware labels the response (Content-Language) after that. The next request
    starts afresh, since LocaleMiddleware activates a language for every request.
    """
    language = language_of(guardian)
    translation.activate(language)
    request.LANGUAGE_CODE = language
    return language


def _guardian_of_user(user):
    # The reverse one-to-one raises a subclass of AttributeError for a staff account.
    return getattr(user, "guardian", None) if user.is_authenticated else None


def in_guardian_language(view):
    """A function view in the signed-in guardian's language; others keep the browser's."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        guardian = _guardian_of_user(request.user)
        if guardian is not None:
            use_guardian_language(request, guardian)
        return view(request, *args, **kwargs)

    return wrapper


class GuardianLanguageMixin:
    """A class-based view in the guardian's language; `get_guardian` says whose (by default
    the signed-in user's guardian record, if it has one)."""

    def get_guardian(self):
        return _guardian_of_user(self.request.user)

    def dispatch(self, request, *args, **kwargs):
        guardian = self.get_guardian()
        if guardian is not None:
            use_guardian_language(request, guardian)
        return super().dispatch(request, *args, **kwargs)
