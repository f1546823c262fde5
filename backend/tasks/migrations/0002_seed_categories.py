"""Seed the practice categories of 新时代文明实践; administrators add more in the admin or the API."""

from django.db import migrations

CATEGORIES = [
    ("theory_lecture", "理论宣讲", "Theory lectures", 10),
    ("volunteer_service", "志愿服务", "Volunteer service", 20),
    ("cultural_activity", "文化惠民", "Cultural activities for the public", 30),
    ("customs_reform", "移风易俗", "Reforming customs", 40),
    ("civilization_campaign", "文明创建", "Civilized-city campaigns", 50),
    ("other", "其他", "Other", 90),
]


def seed(apps, schema_editor):
    TaskCategory = apps.get_model("tasks", "TaskCategory")
    for code, name, name_en, sort_order in CATEGORIES:
        TaskCategory.objects.get_or_create(
            code=code, defaults={"name": name, "name_en": name_en, "sort_order": sort_order, "is_active": True}
        )


def unseed(apps, schema_editor):
    TaskCategory = apps.get_model("tasks", "TaskCategory")
    TaskCategory.objects.filter(code__in=[row[0] for row in CATEGORIES], tasks__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("tasks", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]
