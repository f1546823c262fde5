from django.core.management.base import BaseCommand, CommandError

from orgs.tree import tree_problems


class Command(BaseCommand):
    help = "Verify the lft/rght/level/tree_id invariants of the organisation tree; exits non-zero on damage."

    def add_arguments(self, parser):
        parser.add_argument(
            "--tree", type=int, action="append", dest="trees", help="Only this tree id (repeatable)."
        )

    def handle(self, *args, trees=None, **options):
        problems = tree_problems(trees)
        if problems:
            for problem in problems[:200]:
                self.stderr.write(problem)
            raise CommandError(f"The organisation tree is damaged: {len(problems)} problem(s).")
        self.stdout.write(self.style.SUCCESS("The organisation tree is healthy."))
