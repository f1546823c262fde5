# The domain-event outbox, and the idempotency keys taken over from `evidence` (its table is kept,
# renamed to this app's, and loses the status code: the outcome alone is replayed now).

import django.core.serializers.json
import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("evidence", "0002_idempotentrequest_moves_to_common"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="DomainEvent",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("name", models.CharField(max_length=60, verbose_name="event")),
                ("task_id", models.BigIntegerField(blank=True, null=True, verbose_name="task")),
                ("assignment_id", models.BigIntegerField(blank=True, null=True, verbose_name="assignment")),
                ("unit_id", models.BigIntegerField(blank=True, null=True, verbose_name="unit")),
                ("actor_id", models.BigIntegerField(blank=True, null=True, verbose_name="actor")),
                (
                    "data",
                    models.JSONField(
                        blank=True,
                        default=dict,
                        encoder=django.core.serializers.json.DjangoJSONEncoder,
                        verbose_name="details",
                    ),
                ),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now, verbose_name="time")),
                ("dispatched_at", models.DateTimeField(blank=True, null=True, verbose_name="dispatched at")),
                ("attempts", models.PositiveSmallIntegerField(default=0, verbose_name="dispatch attempts")),
                ("error", models.TextField(blank=True, verbose_name="last dispatch error")),
            ],
            options={
                "verbose_name": "domain event",
                "verbose_name_plural": "domain events",
                "ordering": ["id"],
                "indexes": [
                    models.Index(
                        condition=models.Q(("dispatched_at__isnull", True)), fields=["id"], name="event_pending"
                    ),
                    models.Index(fields=["task_id", "id"], name="event_task"),
                ],
            },
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="IdempotentRequest",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("key", models.CharField(max_length=100, verbose_name="idempotency key")),
                        ("endpoint", models.CharField(max_length=255, verbose_name="endpoint")),
                        ("fingerprint", models.CharField(max_length=64, verbose_name="request fingerprint")),
                        ("status_code", models.PositiveSmallIntegerField(default=0, verbose_name="status code")),
                        (
                            "response",
                            models.JSONField(
                                default=dict,
                                encoder=django.core.serializers.json.DjangoJSONEncoder,
                                verbose_name="response",
                            ),
                        ),
                        (
                            "created_at",
                            models.DateTimeField(
                                db_index=True, default=django.utils.timezone.now, verbose_name="created at"
                            ),
                        ),
                        (
                            "user",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                                verbose_name="user",
                            ),
                        ),
                    ],
                    options={
                        "verbose_name": "idempotent request",
                        "verbose_name_plural": "idempotent requests",
                        "db_table": "evidence_idempotentrequest",
                        "constraints": [models.UniqueConstraint(fields=("user", "key"), name="idempotency_key_once")],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.AlterModelTable(name="idempotentrequest", table=None),
        migrations.RemoveField(model_name="idempotentrequest", name="status_code"),
        migrations.AlterField(
            model_name="idempotentrequest",
            name="response",
            field=models.JSONField(
                default=dict, encoder=django.core.serializers.json.DjangoJSONEncoder, verbose_name="outcome"
            ),
        ),
    ]
