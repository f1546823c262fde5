# Assignments record when their outcome became final (approved, or ended with the task); a street's
# report names the delegated units still open when it was made.

from django.db import migrations, models

# Existing settled assignments take the time of the event that settled them.
BACKFILL_SETTLED_AT = """
UPDATE tasks_assignment AS a SET settled_at = e.at
FROM (
    SELECT assignment_id, MAX(created_at) AS at FROM tasks_assignmentevent
    WHERE verb IN ('approve', 'cancel', 'close') GROUP BY assignment_id
) AS e
WHERE e.assignment_id = a.id AND a.status IN ('approved', 'cancelled', 'closed')
"""


class Migration(migrations.Migration):
    dependencies = [
        ("tasks", "0003_submission_ended_at"),
    ]

    operations = [
        migrations.AddField(
            model_name="assignment",
            name="settled_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="settled at"),
        ),
        migrations.AddField(
            model_name="submission",
            name="missing_units",
            field=models.JSONField(blank=True, default=list, verbose_name="delegated units still open"),
        ),
        migrations.RunSQL(BACKFILL_SETTLED_AT, reverse_sql=migrations.RunSQL.noop),
    ]
