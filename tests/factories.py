"""Test data through the real services, so tests exercise what users exercise."""

import itertools

import factory

from orgs import services
from orgs.models import OrgUnit, Role, User

_codes = itertools.count(1)


def next_code(prefix: str = "T") -> str:
    return f"{prefix}{next(_codes):08d}"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User

    username = factory.Sequence(lambda n: f"user{n}")
    real_name = factory.Sequence(lambda n: f"用户{n}")
    password = factory.django.Password("pass-12345")


def platform_admin() -> User:
    user, _ = User.objects.get_or_create(
        username="platform", defaults={"is_superuser": True, "is_staff": True}
    )
    return user


def make_unit(
    parent: OrgUnit | None = None, name: str | None = None, code: str | None = None, **extra
) -> OrgUnit:
    code = code or next_code()
    return services.unit_create(
        actor=platform_admin(), parent=parent, name=name or f"单位{code}", code=code, **extra
    )


def make_member(unit: OrgUnit, role: str = Role.WORKER, username: str | None = None) -> User:
    user = UserFactory(username=username) if username else UserFactory()
    services.membership_create(actor=platform_admin(), user=user, unit=unit, role=role)
    return user
