# The Idempotency-Key machinery moved to `common` (any write may use it, not only evidence uploads).
# The table stays; `common.0001_initial` takes it over and renames it.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("evidence", "0001_initial")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="IdempotentRequest")],
            database_operations=[],
        )
    ]
