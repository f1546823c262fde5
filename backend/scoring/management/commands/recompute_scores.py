"""`manage.py recompute_scores [--period 2026-11] [--district 410102000000]`: the nightly recompute, now."""

import time

from django.core.management.base import BaseCommand, CommandError

from common.exceptions import ValidationFailed
from orgs.models import OrgUnit
from scoring import services
from scoring.models import MonthlyStats, PeriodScore, ScoreLine
from scoring.periods import parse_period


class Command(BaseCommand):
    help = "Recompute score lines, period scores and monthly work figures from scratch (set-based)."

    def add_arguments(self, parser):
        parser.add_argument("--period", help="Only this period: 2026-11, 2026-Q4 or 2026.")
        parser.add_argument("--district", help="Only this district (its code).")

    def handle(self, *args, period=None, district=None, **options):
        chosen = None
        if period:
            try:
                chosen = parse_period(period, allow_future=True)
            except ValidationFailed as exc:
                raise CommandError(str(exc.message)) from exc
        unit = None
        if district:
            unit = OrgUnit.objects.filter(code=district, parent__isnull=True).first()
            if unit is None:
                raise CommandError(f"No district with the code {district}.")
        started = time.monotonic()
        services.scores_recompute(district=unit, period=chosen)
        self.stdout.write(
            f"Recomputed in {time.monotonic() - started:.1f} s: {ScoreLine.objects.count()} score lines, "
            f"{PeriodScore.objects.count()} period scores, {MonthlyStats.objects.count()} monthly figures."
        )
