"""The ASGI application: live streams (lastbell/live) first, then Django for everything else.

Static files come through Django too (WhiteNoise is a middleware in settings.py).
"""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lastbell.settings")

from django.core.asgi import get_asgi_application  # noqa: E402

django_asgi = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.urls import re_path  # noqa: E402

from lastbell.live.routing import urlpatterns as live_urlpatterns  # noqa: E402
from lastbell.turns import reads_take_turns, share_interpreter  # noqa: E402

share_interpreter()

# Page loads take turns, posts go straight (turns.py); live streams are not page loads.
application = ProtocolTypeRouter(
    {"http": URLRouter([*live_urlpatterns, re_path(r"", reads_take_turns(django_asgi))])}
)
