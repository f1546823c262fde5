"""Task categories: shared by every district, changed by platform administrators only."""

from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from common.exceptions import ValidationFailed
from orgs.models import User
from orgs.scope import Grants
from tasks.models import TaskCategory
from tasks.policies import category_change_refusal, require


@transaction.atomic
def category_create(
    *, actor: User, code: str, name: str, name_en: str = "", sort_order: int = 100, is_active: bool = True
) -> TaskCategory:
    require(category_change_refusal(Grants(actor)))
    clashes = TaskCategory.objects.filter(Q(code=code) | Q(name=name)).values_list("code", "name")
    errors: dict[str, list[str]] = {}
    for other_code, other_name in clashes:
        if other_code == code:
            errors["code"] = [_("This code is already in use.")]
        if other_name == name:
            errors["name"] = [_("This name is already in use.")]
    if errors:
        raise ValidationFailed(_("The category could not be created."), errors)
    return TaskCategory.objects.create(
        code=code, name=name, name_en=name_en, sort_order=sort_order, is_active=is_active
    )


@transaction.atomic
def category_update(*, actor: User, category: TaskCategory, data: dict[str, Any]) -> TaskCategory:
    require(category_change_refusal(Grants(actor)))
    category = TaskCategory.objects.select_for_update().get(pk=category.pk)
    if "name" in data and TaskCategory.objects.filter(name=data["name"]).exclude(pk=category.pk).exists():
        raise ValidationFailed(
            _("The category could not be saved."), {"name": [_("This name is already in use.")]}
        )
    for field in ("name", "name_en", "sort_order", "is_active"):
        if field in data:
            setattr(category, field, data[field])
    category.save()
    return category
