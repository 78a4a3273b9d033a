from django.apps import AppConfig
from django.db import connections
from django.db.models.signals import post_migrate


def _install_stamps(sender, using, **kwargs):
    from lastbell.plans import stamps

    stamps.install(connections[using])


class PlansConfig(AppConfig):
    name = "lastbell.plans"
    label = "plans"

    def ready(self):
        # After every migrate (and flush): table rebuilds on SQLite drop triggers.
        post_migrate.connect(_install_stamps, sender=self, dispatch_uid="lastbell.plans.stamps")
