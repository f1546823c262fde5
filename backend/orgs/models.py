"""The three-tier tree (district → street → community), people and their memberships."""

from django.contrib.auth.models import AbstractUser
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from mptt.models import MPTTModel, TreeForeignKey

from common.models import AppendOnlyModel, TimeStampedModel, latitude_field, longitude_field


class Level(models.IntegerChoices):
    """Depth in the tree; the practice names are 中心 / 所 / 站."""

    DISTRICT = 0, _("District (practice centre)")
    STREET = 1, _("Street (practice institute)")
    COMMUNITY = 2, _("Community (practice station)")


LEVEL_KEYS = {Level.DISTRICT: "district", Level.STREET: "street", Level.COMMUNITY: "community"}
LEVEL_BY_KEY = {key: level for level, key in LEVEL_KEYS.items()}
MAX_DEPTH = Level.COMMUNITY


def level_key(level: int) -> str:
    """`district` / `street` / `community` for a tree depth (the API's name for a level)."""
    return LEVEL_KEYS[Level(min(level, MAX_DEPTH))]


code_validator = RegexValidator(r"^[0-9A-Za-z_-]{1,32}$", _("A code is 1–32 letters, digits, '-' or '_'."))
mobile_validator = RegexValidator(r"^1[3-9][0-9]{9}$", _("Enter a mainland mobile number of 11 digits."))


# mptt ships no type information: the plugin cannot type its TreeManager (`objects`) nor the
# `children` manager of TreeForeignKey, and both stay untyped (Any).
class OrgUnit(MPTTModel, TimeStampedModel):  # type: ignore[django-manager-missing]
    name = models.CharField(_("name"), max_length=100)
    code = models.CharField(
        _("code"),
        max_length=32,
        unique=True,
        validators=[code_validator],
        help_text=_("Statistical division code (12 digits, e.g. 410102000000) or any unique code."),
    )
    parent = TreeForeignKey(
        "self",
        verbose_name=_("parent unit"),
        null=True,
        blank=True,
        related_name="children",
        on_delete=models.PROTECT,
    )
    station_name = models.CharField(_("practice station name"), max_length=150, blank=True)
    address = models.CharField(_("address"), max_length=255, blank=True)
    contact_phone = models.CharField(_("contact phone"), max_length=32, blank=True)
    latitude = latitude_field()
    longitude = longitude_field()
    is_active = models.BooleanField(_("active"), default=True)

    class MPTTMeta:
        order_insertion_by = ["code"]

    class Meta:
        verbose_name = _("organisation unit")
        verbose_name_plural = _("organisation units")
        indexes = [models.Index(fields=["tree_id", "lft", "rght"], name="orgunit_tree_range")]

    def __str__(self) -> str:
        return f"{self.name}（{self.code}）"

    @property
    def level_key(self) -> str:
        return level_key(self.level)

    @property
    def level_display(self) -> str:
        return str(Level(min(self.level, MAX_DEPTH)).label)


class User(AbstractUser):
    real_name = models.CharField(_("real name"), max_length=50, blank=True)
    mobile = models.CharField(
        _("mobile phone"), max_length=11, unique=True, null=True, blank=True, validators=[mobile_validator]
    )
    # Every JWT carries the version it was issued under, and sessions hash it in: raising it ends
    # all of the account's tokens and sessions at once (orgs/tokens.py). It goes up when the
    # password changes, the account is deactivated or its last membership is removed.
    token_version = models.PositiveIntegerField(_("token version"), default=0, editable=False)

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.real_name or self.username

    @classmethod
    def from_db(cls, db, field_names, values):
        user = super().from_db(db, field_names, values)
        user._stored_is_active = user.is_active if "is_active" in field_names else None
        user._stored_token_version = user.token_version if "token_version" in field_names else None
        return user

    def set_password(self, raw_password: str | None) -> None:
        super().set_password(raw_password)
        self.token_version += 1

    def set_unusable_password(self) -> None:
        super().set_unusable_password()
        self.token_version += 1

    def save(self, *args, **kwargs) -> None:
        # Deactivating ends the account's tokens however it happens (admin form, shell, service).
        if getattr(self, "_stored_is_active", None) and not self.is_active:
            self.token_version += 1
        update_fields = kwargs.get("update_fields")
        changed = self.token_version != getattr(self, "_stored_token_version", self.token_version)
        if update_fields is not None and changed and "token_version" not in update_fields:
            # e.g. Django re-hashing a password at login saves only "password" (as Django's own
            # session hash, the new hash then ends the account's other sessions and tokens)
            kwargs["update_fields"] = [*update_fields, "token_version"]
        super().save(*args, **kwargs)
        self._stored_is_active = self.is_active
        self._stored_token_version = self.token_version

    def _get_session_auth_hash(self, secret=None) -> str:  # type: ignore[override]
        """Django's session hash (HMAC of the password hash) with the token version mixed in."""
        from django.utils.crypto import salted_hmac

        key_salt = "orgs.models.User.get_session_auth_hash"
        value = f"{self.password}:{self.token_version}"
        return salted_hmac(key_salt, value, secret=secret, algorithm="sha256").hexdigest()


class Role(models.TextChoices):
    ADMINISTRATOR = "administrator", _("Administrator")
    OFFICER = "officer", _("Officer")
    WORKER = "worker", _("Worker")
    VIEWER = "viewer", _("Viewer")


class Membership(TimeStampedModel):
    user = models.ForeignKey(
        User, verbose_name=_("user"), related_name="memberships", on_delete=models.CASCADE
    )
    unit = TreeForeignKey(
        OrgUnit, verbose_name=_("unit"), related_name="memberships", on_delete=models.PROTECT
    )
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [
            models.UniqueConstraint(fields=["user", "unit", "role"], name="membership_unique_role")
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.unit.name} ({self.get_role_display()})"


class OrgEvent(AppendOnlyModel):
    """Immutable audit trail of changes to units and memberships (who, what, when)."""

    class Verb(models.TextChoices):
        UNIT_CREATED = "unit.created", _("Unit created")
        UNIT_UPDATED = "unit.updated", _("Unit updated")
        UNIT_MOVED = "unit.moved", _("Unit moved")
        UNITS_IMPORTED = "units.imported", _("Units imported")
        USER_CREATED = "user.created", _("User created")
        USERS_IMPORTED = "users.imported", _("Users imported")
        MEMBERSHIP_CREATED = "membership.created", _("Membership created")
        MEMBERSHIP_DELETED = "membership.deleted", _("Membership deleted")

    verb = models.CharField(_("event"), max_length=40, choices=Verb.choices)
    actor = models.ForeignKey(
        User, verbose_name=_("actor"), null=True, blank=True, related_name="+", on_delete=models.SET_NULL
    )
    unit = TreeForeignKey(
        OrgUnit,
        verbose_name=_("unit"),
        null=True,
        blank=True,
        related_name="events",
        on_delete=models.SET_NULL,
    )
    data = models.JSONField(_("details"), default=dict, blank=True)
    created_at = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("organisation event")
        verbose_name_plural = _("organisation events")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_verb_display()} {self.created_at:%Y-%m-%d %H:%M}"
