"""Thin views: parse input, call one selector or service, shape the output."""

import math

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.views import TokenObtainPairView

from common.exceptions import ApplicationError
from orgs import login_throttle, selectors, services
from orgs.filters import MembershipFilter, UnitFilter, UserFilter
from orgs.models import OrgEvent, OrgUnit
from orgs.serializers import (
    MembershipCreateSerializer,
    MembershipOutputSerializer,
    MeSerializer,
    OrgEventSerializer,
    TreeNodeSerializer,
    UnitCreateSerializer,
    UnitMoveSerializer,
    UnitOutputSerializer,
    UnitUpdateSerializer,
    UserCreateSerializer,
    UserOutputSerializer,
)


class TooManyLoginAttempts(ApplicationError):
    status_code = status.HTTP_429_TOO_MANY_REQUESTS


class ThrottledTokenObtainPairView(TokenObtainPairView):
    """JWT login that answers 429 while the username or address has too many recent failures."""

    def post(self, request, *args, **kwargs):
        username = request.data.get("username") if isinstance(request.data, dict) else None
        wait = login_throttle.retry_after(username, request)
        if wait:
            raise TooManyLoginAttempts(
                _("Too many failed logins. Try again in %(minutes)s minute(s).")
                % {"minutes": max(1, math.ceil(wait / 60))},
                {"retry_after": wait},
            )
        return super().post(request, *args, **kwargs)


def _visible_unit(user, unit_id) -> OrgUnit:
    """A unit the user can see, else 404 (used for ids sent in request bodies too)."""
    return selectors.unit_get(user=user, unit_id=unit_id)


class MeApi(APIView):
    @extend_schema(responses=MeSerializer, summary="The current user and their memberships")
    def get(self, request):
        request.user.my_memberships = selectors.me_memberships(user=request.user)
        return Response(MeSerializer(request.user).data)


class UnitListApi(GenericAPIView):
    serializer_class = UnitOutputSerializer
    filterset_class = UnitFilter

    def get_queryset(self):
        return selectors.unit_list(user=self.request.user)

    @extend_schema(
        operation_id="units_list",
        responses=UnitOutputSerializer(many=True),
        summary="Units visible to the current user",
    )
    def get(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(UnitOutputSerializer(page, many=True).data)

    @extend_schema(
        request=UnitCreateSerializer, responses={201: UnitOutputSerializer}, summary="Create a unit"
    )
    def post(self, request):
        data = UnitCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        parent_id = fields.pop("parent", None)
        parent = _visible_unit(request.user, parent_id) if parent_id is not None else None
        unit = services.unit_create(actor=request.user, parent=parent, **fields)
        return Response(UnitOutputSerializer(unit).data, status=status.HTTP_201_CREATED)


class UnitDetailApi(APIView):
    @extend_schema(responses=UnitOutputSerializer, summary="One unit")
    def get(self, request, unit_id: int):
        return Response(UnitOutputSerializer(_visible_unit(request.user, unit_id)).data)

    @extend_schema(request=UnitUpdateSerializer, responses=UnitOutputSerializer, summary="Update a unit")
    def patch(self, request, unit_id: int):
        unit = _visible_unit(request.user, unit_id)
        data = UnitUpdateSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        unit = services.unit_update(actor=request.user, unit=unit, data=dict(data.validated_data))
        return Response(UnitOutputSerializer(selectors.unit_get(user=request.user, unit_id=unit.pk)).data)


class UnitMoveApi(APIView):
    @extend_schema(
        request=UnitMoveSerializer, responses=UnitOutputSerializer, summary="Move a unit under another parent"
    )
    def post(self, request, unit_id: int):
        unit = _visible_unit(request.user, unit_id)
        data = UnitMoveSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        new_parent = _visible_unit(request.user, data.validated_data["parent"])
        unit = services.unit_move(actor=request.user, unit=unit, new_parent=new_parent)
        return Response(UnitOutputSerializer(selectors.unit_get(user=request.user, unit_id=unit.pk)).data)


class UnitTreeApi(APIView):
    @extend_schema(responses=TreeNodeSerializer(many=True), summary="The nested subtree with member counts")
    def get(self, request, unit_id: int):
        return Response(selectors.unit_subtree(user=request.user, unit_id=unit_id))


class UnitEventsApi(GenericAPIView):
    serializer_class = OrgEventSerializer
    queryset = OrgEvent.objects.none()

    @extend_schema(
        responses=OrgEventSerializer(many=True),
        summary="History of a unit (creation, edits, moves, memberships)",
    )
    def get(self, request, unit_id: int):
        unit = _visible_unit(request.user, unit_id)
        page = self.paginate_queryset(unit.events.select_related("actor").all())
        return self.get_paginated_response(OrgEventSerializer(page, many=True).data)


class UserListApi(GenericAPIView):
    serializer_class = UserOutputSerializer
    filterset_class = UserFilter

    def get_queryset(self):
        return selectors.user_list(user=self.request.user)

    @extend_schema(
        operation_id="users_list",
        responses=UserOutputSerializer(many=True),
        summary="People in the units visible to the current user",
    )
    def get(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(UserOutputSerializer(page, many=True).data)

    @extend_schema(
        request=UserCreateSerializer, responses={201: UserOutputSerializer}, summary="Create an account"
    )
    def post(self, request):
        data = UserCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        unit = _visible_unit(request.user, fields.pop("unit"))
        user = services.user_create(actor=request.user, unit=unit, **fields)
        return Response(
            UserOutputSerializer(selectors.user_get(user=request.user, user_id=user.pk)).data,
            status=status.HTTP_201_CREATED,
        )


class UserDetailApi(APIView):
    @extend_schema(responses=UserOutputSerializer, summary="One person")
    def get(self, request, user_id: int):
        return Response(UserOutputSerializer(selectors.user_get(user=request.user, user_id=user_id)).data)


class MembershipListApi(GenericAPIView):
    serializer_class = MembershipOutputSerializer
    filterset_class = MembershipFilter

    def get_queryset(self):
        return selectors.membership_list(user=self.request.user)

    @extend_schema(
        operation_id="memberships_list",
        responses=MembershipOutputSerializer(many=True),
        summary="Memberships in the units visible to the current user",
    )
    def get(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(MembershipOutputSerializer(page, many=True).data)

    @extend_schema(
        request=MembershipCreateSerializer,
        responses={201: MembershipOutputSerializer},
        summary="Give a person a role in a unit",
    )
    def post(self, request):
        data = MembershipCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        unit = _visible_unit(request.user, data.validated_data["unit"])
        person = selectors.user_get(user=request.user, user_id=data.validated_data["user"])
        membership = services.membership_create(
            actor=request.user, user=person, unit=unit, role=data.validated_data["role"]
        )
        return Response(MembershipOutputSerializer(membership).data, status=status.HTTP_201_CREATED)


class MembershipDetailApi(APIView):
    @extend_schema(responses=MembershipOutputSerializer, summary="One membership")
    def get(self, request, membership_id: int):
        membership = selectors.membership_get(user=request.user, membership_id=membership_id)
        return Response(MembershipOutputSerializer(membership).data)

    @extend_schema(responses={204: None}, summary="Remove a membership")
    def delete(self, request, membership_id: int):
        membership = selectors.membership_get(user=request.user, membership_id=membership_id)
        services.membership_delete(actor=request.user, membership=membership)
        return Response(status=status.HTTP_204_NO_CONTENT)
