from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from orgs.models import (
    Membership,
    OrgEvent,
    OrgUnit,
    Role,
    User,
    code_validator,
    level_key,
    mobile_validator,
)


class UnitBriefSerializer(serializers.ModelSerializer):
    level = serializers.SerializerMethodField()

    class Meta:
        model = OrgUnit
        fields = ["id", "name", "code", "level"]

    def get_level(self, obj: OrgUnit) -> str:
        return level_key(obj.level)


class UnitOutputSerializer(serializers.ModelSerializer):
    level = serializers.SerializerMethodField(help_text="district | street | community")
    level_display = serializers.CharField(read_only=True, help_text="中心 / 所 / 站")
    parent = UnitBriefSerializer(read_only=True, allow_null=True, help_text="null for a district")

    class Meta:
        model = OrgUnit
        fields = [
            "id",
            "name",
            "code",
            "level",
            "level_display",
            "parent",
            "station_name",
            "address",
            "contact_phone",
            "latitude",
            "longitude",
            "is_active",
            "created_at",
            "updated_at",
        ]

    def get_level(self, obj: OrgUnit) -> str:
        return level_key(obj.level)


class UnitCreateSerializer(serializers.Serializer):
    # A declared field, not `Field.parent`: the serializer metaclass moves it into _declared_fields.
    parent = serializers.IntegerField(  # type: ignore[assignment]
        required=False, allow_null=True, help_text=_("Parent unit id; empty for a new district.")
    )
    name = serializers.CharField(max_length=100)
    code = serializers.CharField(max_length=32, validators=[code_validator])
    station_name = serializers.CharField(max_length=150, required=False, allow_blank=True, default="")
    address = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")
    contact_phone = serializers.CharField(max_length=32, required=False, allow_blank=True, default="")
    latitude = serializers.DecimalField(
        max_digits=9, decimal_places=6, required=False, allow_null=True, min_value=-90, max_value=90
    )
    longitude = serializers.DecimalField(
        max_digits=9, decimal_places=6, required=False, allow_null=True, min_value=-180, max_value=180
    )
    is_active = serializers.BooleanField(required=False, default=True)


class UnitUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100, required=False)
    code = serializers.CharField(max_length=32, validators=[code_validator], required=False)
    station_name = serializers.CharField(max_length=150, required=False, allow_blank=True)
    address = serializers.CharField(max_length=255, required=False, allow_blank=True)
    contact_phone = serializers.CharField(max_length=32, required=False, allow_blank=True)
    latitude = serializers.DecimalField(
        max_digits=9, decimal_places=6, required=False, allow_null=True, min_value=-90, max_value=90
    )
    longitude = serializers.DecimalField(
        max_digits=9, decimal_places=6, required=False, allow_null=True, min_value=-180, max_value=180
    )
    is_active = serializers.BooleanField(required=False)


class UnitMoveSerializer(serializers.Serializer):
    # A declared field, not `Field.parent`: the serializer metaclass moves it into _declared_fields.
    parent = serializers.IntegerField(help_text=_("The new parent unit id."))  # type: ignore[assignment]


class TreeNodeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    code = serializers.CharField()
    level = serializers.CharField()
    station_name = serializers.CharField()
    is_active = serializers.BooleanField()
    member_count = serializers.IntegerField()
    children = serializers.ListField(child=serializers.DictField())


class MembershipOutputSerializer(serializers.ModelSerializer):
    unit = UnitBriefSerializer(read_only=True)
    role_display = serializers.CharField(source="get_role_display", read_only=True)
    user = serializers.SerializerMethodField()

    class Meta:
        model = Membership
        fields = ["id", "user", "unit", "role", "role_display", "created_at"]

    def get_user(self, obj: Membership) -> dict:
        return {"id": obj.user_id, "username": obj.user.username, "real_name": obj.user.real_name}


class MembershipBriefSerializer(serializers.ModelSerializer):
    unit = UnitBriefSerializer(read_only=True)
    role_display = serializers.CharField(source="get_role_display", read_only=True)

    class Meta:
        model = Membership
        fields = ["id", "unit", "role", "role_display"]


class MembershipCreateSerializer(serializers.Serializer):
    user = serializers.IntegerField()
    unit = serializers.IntegerField()
    role = serializers.ChoiceField(choices=Role.choices)


class UserOutputSerializer(serializers.ModelSerializer):
    memberships = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = ["id", "username", "real_name", "mobile", "is_active", "memberships"]

    def get_memberships(self, obj: User) -> list[dict]:
        memberships = getattr(obj, "visible_memberships", None)
        if memberships is None:
            memberships = obj.memberships.select_related("unit").all()
        # many=True builds a ListSerializer (its .data is a list); the stubs type it as the child.
        return MembershipBriefSerializer(memberships, many=True).data  # type: ignore[return-value]


class UserCreateSerializer(serializers.Serializer):
    username = serializers.RegexField(r"^[\w.@+-]{3,150}$", max_length=150)
    real_name = serializers.CharField(max_length=50)
    mobile = serializers.CharField(
        max_length=11, required=False, allow_blank=True, allow_null=True, validators=[mobile_validator]
    )
    password = serializers.CharField(
        min_length=8, max_length=128, required=False, allow_blank=True, write_only=True
    )
    unit = serializers.IntegerField(help_text=_("The unit of the first membership."))
    role = serializers.ChoiceField(choices=Role.choices)


class MeSerializer(serializers.ModelSerializer):
    memberships = MembershipBriefSerializer(many=True, read_only=True, source="my_memberships")

    class Meta:
        model = User
        fields = ["id", "username", "real_name", "mobile", "is_superuser", "memberships"]


class OrgEventSerializer(serializers.ModelSerializer):
    actor = serializers.SerializerMethodField()
    verb_display = serializers.CharField(source="get_verb_display", read_only=True)

    class Meta:
        model = OrgEvent
        fields = ["id", "verb", "verb_display", "actor", "data", "created_at"]

    def get_actor(self, obj: OrgEvent) -> dict | None:
        if obj.actor_id is None:
            return None
        actor = obj.actor
        assert actor is not None  # actor_id is set
        return {"id": obj.actor_id, "username": actor.username, "real_name": actor.real_name}
