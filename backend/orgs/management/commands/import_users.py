from orgs.imports import ImportResult, users_import
from orgs.management.commands.import_units import ImportCommand
from orgs.models import User


class Command(ImportCommand):
    help = (
        "Import people and their roles (CSV or XLSX; columns username, real_name, mobile, unit_code, role, "
        "optionally password). All rows or none; importing again creates nothing new. Runs as the user given "
        "with --as (their scope applies), otherwise as the first active superuser; prints every bad row and "
        "exits non-zero when the file has errors."
    )
    key = "username"

    def run_import(self, *, actor: User, file: bytes, filename: str) -> ImportResult:
        return users_import(actor=actor, file=file, filename=filename)
