"""`manage.py send_digest [--user USERNAME]`: today's digest now (what beat runs every morning)."""

from django.core.management.base import BaseCommand, CommandError

from notifications import deliveries, digest
from orgs.models import User


class Command(BaseCommand):
    help = "Make today's daily digest for every officer, or for one (--user), now."

    def add_arguments(self, parser):
        parser.add_argument("--user", help="Only this officer (username).")
        parser.add_argument("--deliver", action="store_true", help="Also send the pushes (email) now.")

    def handle(self, *args, user: str | None, deliver: bool, **options):
        user_id = None
        if user:
            try:
                user_id = User.objects.get(username=user).pk
            except User.DoesNotExist as exc:
                raise CommandError(f"No user {user!r}.") from exc
        made = digest.digests_send(user_id=user_id)
        if made.notifications:
            self.stdout.write(f"{made.notifications} digests made, {made.pushes} pushes to send.")
        else:
            self.stdout.write("No digest made: nothing to report, or today's digest was already made.")
        if deliver:
            self.stdout.write(f"Deliveries: {deliveries.deliveries_send()}")
