"""Upload endpoints for the division list and the onboarding sheet; the rules live in orgs.imports."""

from django.conf import settings
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from common.exceptions import PayloadTooLarge, ValidationFailed
from common.uploads import MULTIPART_OVERHEAD, refuse_declared_length
from orgs.imports import (
    ImportResult,
    people_refusal,
    require_role_somewhere,
    units_import,
    units_refusal,
    users_import,
)
from orgs.models import User
from orgs.scope import Action

_FILE_BODY = {
    "multipart/form-data": {
        "type": "object",
        "properties": {
            "file": {"type": "string", "format": "binary", "description": "CSV (UTF-8 or GBK) or XLSX"}
        },
        "required": ["file"],
    }
}
_RESULT = inline_serializer(
    "ImportResult",
    {
        "created": serializers.IntegerField(),
        "updated": serializers.IntegerField(),
        "unchanged": serializers.IntegerField(),
    },
)
_RESPONSES = {
    200: _RESULT,
    400: OpenApiResponse(
        description="Nothing imported: `errors.rows` lists every bad row, or `errors.file`."
    ),
    403: OpenApiResponse(description="The actor is not an administrator anywhere."),
    413: OpenApiResponse(description="The file is larger than IMPORT_MAX_BYTES."),
}


def _too_large(_length: int = 0) -> PayloadTooLarge:
    return PayloadTooLarge(
        _("The file is larger than %(size)s MB; split it into several files.")
        % {"size": f"{settings.IMPORT_MAX_BYTES / (1024 * 1024):g}"}
    )


def _actor(request: Request) -> User:
    # permission_classes = [IsAuthenticated] ran first, so the user is never AnonymousUser here.
    return request.user  # type: ignore[return-value]


def _uploaded_file(request: Request, action: Action, refusal: str):
    """The uploaded file, after the checks that need no body: the role, then the declared length.

    Reading a multipart body spools it to disk, so nobody without the role, and no body longer than
    the limit, gets that far.
    """
    require_role_somewhere(_actor(request), action, refusal)
    refuse_declared_length(request, limit=settings.IMPORT_MAX_BYTES + MULTIPART_OVERHEAD, refusal=_too_large)
    upload = request.FILES.get("file")
    if upload is None:
        raise ValidationFailed(
            _("Choose a CSV or XLSX file and send it in the form field “file”."),
            {"file": [_("No file was sent.")]},
        )
    if upload.size is not None and upload.size > settings.IMPORT_MAX_BYTES:
        raise _too_large()
    return upload


def _result(result: ImportResult) -> Response:
    return Response({"created": result.created, "updated": result.updated, "unchanged": result.unchanged})


class UnitImportApi(APIView):
    parser_classes = [MultiPartParser, FormParser]
    permission_classes = [IsAuthenticated]

    @extend_schema(
        summary="Import the division list (区划) from CSV or XLSX",
        description=(
            "Columns `code, name, parent_code` (代码, 名称, 上级代码) plus optional `station_name, address, "
            "contact_phone, latitude, longitude, is_active`. All rows or none; importing again updates by code."
        ),
        request=_FILE_BODY,
        responses=_RESPONSES,
    )
    def post(self, request: Request) -> Response:
        upload = _uploaded_file(request, Action.MANAGE_UNITS, units_refusal())
        return _result(units_import(actor=_actor(request), file=upload, filename=upload.name or ""))


class UserImportApi(APIView):
    parser_classes = [MultiPartParser, FormParser]
    permission_classes = [IsAuthenticated]

    @extend_schema(
        summary="Import people and their roles from CSV or XLSX",
        description=(
            "Columns `username, real_name, mobile, unit_code, role` (用户名, 姓名, 手机号, 单位代码, 角色), "
            "optional `password`. All rows or none; an existing account with the same mobile only gains the role."
        ),
        request=_FILE_BODY,
        responses=_RESPONSES,
    )
    def post(self, request: Request) -> Response:
        upload = _uploaded_file(request, Action.MANAGE_PEOPLE, people_refusal())
        return _result(users_import(actor=_actor(request), file=upload, filename=upload.name or ""))
