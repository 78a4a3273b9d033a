"""The ASGI routes of live updates, ahead of Django's own (lastbell/asgi.py). The same address
is in Django's URLs too (live/urls.py), for templates and for servers without streams."""

from channels.auth import AuthMiddlewareStack
from django.urls import path

from lastbell.live.consumers import BoardStream

urlpatterns = [
    path("schools/<int:school_id>/live/", AuthMiddlewareStack(BoardStream.as_asgi())),
]
