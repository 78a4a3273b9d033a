from django.apps import AppConfig


class AttendanceConfig(AppConfig):
    name = "lastbell.attendance"
    label = "attendance"
