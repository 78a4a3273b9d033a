from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "lastbell.audit"
    label = "audit"
