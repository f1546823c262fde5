"""`manage.py send_reminders`: one reminder scan now (what beat runs every few minutes)."""

from django.core.management.base import BaseCommand

from notifications import deliveries, reminders


class Command(BaseCommand):
    help = "Run one reminder scan now: reminders, escalation and review reminders that are due."

    def add_arguments(self, parser):
        parser.add_argument(
            "--deliver",
            action="store_true",
            help="Also send the pushes now instead of leaving them to the worker.",
        )

    def handle(self, *args, deliver: bool, **options):
        made = reminders.reminders_scan()
        self.stdout.write(f"{made.notifications} notifications, {made.pushes} pushes to send.")
        if deliver:
            self.stdout.write(f"Deliveries: {deliveries.deliveries_send()}")
