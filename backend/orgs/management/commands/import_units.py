from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from common.exceptions import ApplicationError
from orgs.imports import ImportResult, units_import
from orgs.models import User


class ImportCommand(BaseCommand):
    """Shared by import_units and import_users: read a file, run the import as a real user, report."""

    key = "code"

    def run_import(self, *, actor: User, file: bytes, filename: str) -> ImportResult:
        raise NotImplementedError

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path, help="A CSV (UTF-8 or GBK) or XLSX file.")
        parser.add_argument(
            "--as",
            dest="username",
            help="Import as this user, within their scope (default: the first active superuser).",
        )

    def actor(self, username: str | None) -> User:
        # The audit event needs a real account as its actor, so there is no anonymous "system" import.
        if username:
            user = User.objects.filter(username=username, is_active=True).first()
            if user is None:
                raise CommandError(f"No active user called {username!r}.")
            return user
        user = User.objects.filter(is_superuser=True, is_active=True).order_by("pk").first()
        if user is None:
            raise CommandError(
                "No active superuser: create one (manage.py createsuperuser) or pass --as USERNAME."
            )
        return user

    def handle(self, *args, file: Path, username: str | None = None, **options):
        actor = self.actor(username)
        try:
            content = file.read_bytes()
        except OSError as exc:
            raise CommandError(f"Cannot read {file}: {exc}") from exc
        try:
            result = self.run_import(actor=actor, file=content, filename=file.name)
        except ApplicationError as exc:
            for problem in exc.extra.get("file", []):
                self.stderr.write(str(problem))
            for row in exc.extra.get("rows", []):
                for problem in row["errors"]:
                    self.stderr.write(f"row {row['row']} ({row.get(self.key) or '-'}): {problem}")
            raise CommandError(str(exc.message)) from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"Imported {file.name} as {actor.username}: {result.created} created, "
                f"{result.updated} updated, {result.unchanged} unchanged."
            )
        )


class Command(ImportCommand):
    help = (
        "Import the division list (CSV or XLSX; columns code, name, parent_code, optionally station_name, "
        "address, contact_phone, latitude, longitude, is_active). All rows or none; importing again updates "
        "units by code. Runs as the user given with --as (their scope applies), otherwise as the first "
        "active superuser; prints every bad row and exits non-zero when the file has errors."
    )

    def run_import(self, *, actor: User, file: bytes, filename: str) -> ImportResult:
        return units_import(actor=actor, file=file, filename=filename)
