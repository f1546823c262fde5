"""`manage.py load_demo`: the 郑州市中原区 demo tree and its accounts, through the real services.

Idempotent: units are matched by code and accounts by username, so running it twice changes
nothing. Existing accounts keep their password unless DEMO_PASSWORD is set or `--reset-passwords` is given.
"""

import os
import unicodedata

from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from orgs import demo_data, services
from orgs.models import Membership, OrgEvent, OrgUnit, Role, User


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


def format_table(rows: list[tuple[str, ...]]) -> str:
    """Columns aligned for a terminal, counting Chinese characters as two columns wide."""
    widths = [max(_width(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(_pad(cell, widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows)


def accounts_rows(specs: list[demo_data.AccountSpec]) -> list[tuple[str, ...]]:
    names = dict(OrgUnit.objects.filter(code__in={s.unit_code for s in specs}).values_list("code", "name"))
    rows: list[tuple[str, ...]] = [("username", "real name", "role", "unit")]
    for spec in specs:
        role = str(Role(spec.role).label) + (" + superuser" if spec.superuser else "")
        rows.append((spec.username, spec.real_name, role, names.get(spec.unit_code, spec.unit_code)))
    return rows


class Command(BaseCommand):
    help = (
        "Load the 郑州市中原区 demo tree (14 streets, their communities) and demo accounts. Safe to re-run."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--reset-passwords",
            action="store_true",
            help="Also set existing demo accounts' password to DEMO_PASSWORD (default: chuanxi-demo).",
        )
        parser.add_argument("--quiet-table", action="store_true", help="Do not print the accounts table.")
        parser.add_argument(
            "--skip-month",
            action="store_true",
            help="Only the tree and the accounts, not the month of tasks (web/demo_month.py).",
        )

    def handle(self, *args, reset_passwords=False, quiet_table=False, skip_month=False, **options):
        password = demo_data.demo_password()
        # An explicit DEMO_PASSWORD is a promise that it opens every demo account, even existing ones.
        reset_passwords = reset_passwords or bool(os.environ.get("DEMO_PASSWORD"))
        # Hashing is deliberately slow (PBKDF2, ~1M rounds); hash once and give every demo account the
        # same hash, or a hundred accounts would take a minute to create.
        password_hash = make_password(password)
        unit_specs = demo_data.units()
        account_specs = demo_data.accounts()

        with transaction.atomic():
            admin, admin_created = self._admin(password_hash)
            units_created = self._units(admin, unit_specs)
            users_created, memberships_created = self._accounts(
                admin, account_specs, password_hash, fresh={admin.username} if admin_created else set()
            )
            if reset_passwords:
                User.objects.filter(username__in=[s.username for s in account_specs]).update(
                    password=password_hash
                )

        # A month of tasks for the pages (backend/web/demo_month.py), through the task services.
        from web.demo_month import MonthResult, load_month

        month = MonthResult(created=0, photos=0) if skip_month else load_month()
        if month.created:
            # The month's approvals are scored by the event outbox once the demo's worker runs; computing
            # them now (the nightly recompute, set-based) means the rankings are right at first login.
            from scoring.services import scores_recompute

            scores_recompute()

        users_created += int(admin_created)
        self.stdout.write(
            f"Units: {units_created} created, {len(unit_specs) - units_created} already there. "
            f"Accounts: {users_created} created, {len(account_specs) - users_created} already there"
            f"{f' ({memberships_created} memberships added)' if memberships_created else ''}."
        )
        self.stdout.write(
            f"Tasks of the demo month: {month.created} created with {month.photos} photos."
            if month.created
            else (
                "Tasks of the demo month: skipped."
                if skip_month
                else "Tasks of the demo month: already there."
            )
        )
        if not quiet_table:
            self.stdout.write("")
            self.stdout.write(format_table(accounts_rows(account_specs)))
            self.stdout.write("")
        note = (
            ""
            if (users_created == len(account_specs) or reset_passwords)
            else ("  (accounts that already existed keep their password; use --reset-passwords)")
        )
        self.stdout.write(
            self.style.SUCCESS(f"Password for every demo account / 演示账号密码: {password}") + note
        )

    def _admin(self, password_hash: str) -> tuple[User, bool]:
        """The platform superuser is the actor of everything else, so it cannot be made by a service."""
        spec = next(s for s in demo_data.accounts() if s.superuser)
        admin = User.objects.filter(username=spec.username).first()
        if admin is not None:
            if not admin.is_superuser:
                raise CommandError(
                    f"The account {spec.username!r} exists but is not a superuser; not touching it."
                )
            return admin, False
        admin = User.objects.create(
            username=spec.username,
            real_name=spec.real_name,
            is_superuser=True,
            is_staff=True,
            password=password_hash,
        )
        services.event_record(
            verb=OrgEvent.Verb.USER_CREATED,
            actor=None,
            data={"user": admin.pk, "username": admin.username, "superuser": True, "via": "load_demo"},
        )
        return admin, True

    def _units(self, admin: User, specs: list[demo_data.UnitSpec]) -> int:
        by_code = {unit.code: unit for unit in OrgUnit.objects.filter(code__in=[s.code for s in specs])}
        created = 0
        for spec in specs:
            if spec.code in by_code:
                continue
            by_code[spec.code] = services.unit_create(
                actor=admin,
                parent=by_code[spec.parent_code] if spec.parent_code else None,
                name=spec.name,
                code=spec.code,
                station_name=spec.station_name,
                address=spec.address,
                contact_phone=spec.contact_phone,
                latitude=spec.latitude,
                longitude=spec.longitude,
            )
            created += 1
        return created

    def _accounts(
        self, admin: User, specs: list[demo_data.AccountSpec], password_hash: str, fresh: set[str]
    ) -> tuple[int, int]:
        """Create missing accounts; give existing ones their missing membership. `fresh`: made in this run."""
        usernames = [s.username for s in specs]
        users = {user.username: user for user in User.objects.filter(username__in=usernames)}
        units = {unit.code: unit for unit in OrgUnit.objects.filter(code__in={s.unit_code for s in specs})}
        held = set(
            Membership.objects.filter(user__username__in=usernames).values_list(
                "user__username", "unit__code", "role"
            )
        )
        users_created = memberships_created = 0
        for spec in specs:
            unit = units[spec.unit_code]
            user = users.get(spec.username)
            if user is None:
                user = services.user_create(
                    actor=admin,
                    username=spec.username,
                    real_name=spec.real_name,
                    mobile=spec.mobile,
                    password=None,
                    unit=unit,
                    role=spec.role,
                )
                User.objects.filter(pk=user.pk).update(password=password_hash)
                users_created += 1
            elif (spec.username, spec.unit_code, spec.role) not in held:
                services.membership_create(actor=admin, user=user, unit=unit, role=spec.role)
                memberships_created += spec.username not in fresh
        return users_created, memberships_created
