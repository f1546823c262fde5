"""Thin views of scoring: parse the query, call one selector or service, shape the answer (JSON, or
a spreadsheet with ?format=xlsx / csv)."""

import json
from typing import Any

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from common.exceptions import ValidationFailed
from common.pagination import DefaultPagination
from common.serializers import parse_request
from common.times import local_iso
from orgs.models import level_key
from scoring import selectors, services
from scoring.exports import XLSX_TYPE, Column, Link, Sheet, display_width, export
from scoring.ledgers import ledger_cells, ledger_rows, photo_label
from scoring.models import ScoringPolicy
from scoring.periods import Period, parse_period
from scoring.policy import Rules
from scoring.serializers import (
    ClosingInputSerializer,
    PeriodEventSerializer,
    PolicyInputSerializer,
    PolicyOutputSerializer,
    RankingRowSerializer,
    closure_data,
    rules_data,
)
from tasks.models import Assignment

# Renderers that let DRF accept ?format=xlsx / csv; the views answer those with files themselves.


class _FileRenderer(BaseRenderer):
    charset = None

    def render(
        self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None
    ) -> bytes:
        return json.dumps(data, ensure_ascii=False, default=str).encode()


class XlsxRenderer(_FileRenderer):
    media_type = XLSX_TYPE
    format = "xlsx"


class CsvRenderer(_FileRenderer):
    media_type = "text/csv"
    format = "csv"


class ExportMixin:
    """JSON by default, a spreadsheet with ?format=; errors are always JSON."""

    formats: tuple[str, ...] = ("xlsx",)
    renderer_classes: Any = [JSONRenderer, XlsxRenderer, CsvRenderer]

    def perform_content_negotiation(self, request, force=False):
        wanted = request.query_params.get("format")
        if wanted not in (None, "", "json", *self.formats):
            allowed = "、".join(("json", *self.formats))
            message = _("“%(format)s” is not an export format: choose %(formats)s.") % {
                "format": wanted,
                "formats": allowed,
            }
            raise ValidationFailed(message, {"format": [message]})
        return super().perform_content_negotiation(request, force)  # type: ignore[misc]

    def handle_exception(self, exc):
        self.request.accepted_renderer = JSONRenderer()  # type: ignore[attr-defined]
        self.request.accepted_media_type = "application/json"  # type: ignore[attr-defined]
        return super().handle_exception(exc)  # type: ignore[misc]

    def export_format(self) -> str:
        return self.request.query_params.get("format") or "json"  # type: ignore[attr-defined]


def _period(request, *, field: str = "period") -> Period:
    return parse_period(request.query_params.get(field), field=field)


def _rate(value: Any) -> float | None:
    return float(value) if value is not None else None


def _fit(header: str, values: list[str] | None = None, width: int = 10) -> Column:
    return Column(header, max([width, *(display_width(v) for v in values or [])]))


# Rankings -----------------------------------------------------------------------------------------

PERIOD_PARAMS = [
    OpenApiParameter(
        "period", str, required=True, description="2026-11 (month), 2026-Q4 (quarter) or 2026 (year)"
    )
]


class LeaderboardApi(ExportMixin, GenericAPIView):
    serializer_class = RankingRowSerializer
    pagination_class = DefaultPagination

    @extend_schema(
        parameters=[
            OpenApiParameter("level", str, required=True, enum=["district", "street", "community"]),
            *PERIOD_PARAMS,
            OpenApiParameter(
                "unit", int, description="The unit whose units are ranked (default: your own part)."
            ),
            OpenApiParameter("format", str, enum=["json", "xlsx"]),
        ],
        summary="Ranking of the units of one level under one unit, with the change against the previous period",
    )
    def get(self, request):
        board = selectors.leaderboard(
            user=request.user,
            level=request.query_params.get("level"),
            period=_period(request),
            unit_id=request.query_params.get("unit"),
        )
        head = {
            "period": board.period.key,
            "period_display": board.period.label,
            "previous_period": board.period.previous().key,
            "level": level_key(board.level),
            "unit": board.ancestor.pk,
            "unit_name": board.ancestor.name,
            "closed": closure_data(board.closure),
            "policy_version": board.policy.version if board.policy else None,
        }
        if self.export_format() == "xlsx":
            return self._xlsx(board)
        page = self.paginate_queryset(board.rows)  # type: ignore[arg-type]
        response = self.get_paginated_response(RankingRowSerializer(page, many=True).data)
        response.data = {**head, **response.data}
        return response

    def _xlsx(self, board: selectors.Leaderboard):
        columns = [
            Column(_("Rank"), 6),
            Column(_("Unit"), 24),
            Column(_("Unit code"), 14),
            Column(_("Score"), 8),
            Column(_("Own points"), 8),
            Column(_("Points from units below"), 8),
            Column(_("Assignments"), 8),
            Column(_("Approved"), 8),
            Column(_("Approved on time"), 8),
            Column(_("Completion rate"), 8),
            Column(_("On-time rate"), 8),
            Column(_("Previous rank"), 8),
            Column(_("Places gained"), 8),
            Column(_("Score change"), 8),
        ]
        rows = (
            [
                row["rank"],
                row["unit_name"],
                row["unit_code"],
                row["score"],
                row["own_points"],
                row["children_points"],
                row["assignments"],
                row["approved"],
                row["on_time"],
                row["completion_rate"],
                row["on_time_rate"],
                row["previous_rank"],
                row["rank_change"],
                row["score_change"],
            ]
            for row in board.rows
        )
        title = _("Ranking %(period)s") % {"period": board.period.key}
        return export("xlsx", filename=f"{title} {board.ancestor.name}", sheets=[Sheet(title, columns, rows)])


class UnitScoreApi(APIView):
    @extend_schema(
        parameters=PERIOD_PARAMS, responses=dict, summary="A unit's score for a period, line by line"
    )
    def get(self, request, unit_id: int):
        found = selectors.unit_score(user=request.user, unit_id=unit_id, period=_period(request))
        score, rules = found["score"], found["rules"]
        return Response(
            {
                "unit": found["unit"].pk,
                "unit_name": found["unit"].name,
                "level": found["unit"].level_key,
                "period": found["period"].key,
                "period_display": found["period"].label,
                "assessed": score is not None,
                "score": score.score if score else 0,
                "own_points": score.own_points if score else 0,
                "children_points": score.children_points if score else 0,
                "children_count": score.children_count if score else 0,
                "assignments": score.assignments if score else 0,
                "approved": score.approved if score else 0,
                "on_time": score.on_time if score else 0,
                "completion_rate": _rate(score.completion_rate) if score else None,
                "on_time_rate": _rate(score.on_time_rate) if score else None,
                "reason": found["reason"],
                "policy_version": found["policy"].version if found["policy"] else None,
                "rules": rules_data(rules),
                "closed": closure_data(found["closure"]),
                "open_assignments": found["open_assignments"],
                "lines": [
                    {
                        **line,
                        "due_at": local_iso(line["due_at"]),
                        "submitted_at": local_iso(line["submitted_at"]),
                    }
                    for line in found["lines"]
                ],
                "children": [
                    {
                        "unit": child.unit_id,
                        "unit_name": child.unit.name,
                        "unit_code": child.unit.code,
                        "score": child.score,
                        "completion_rate": _rate(child.completion_rate),
                        "on_time_rate": _rate(child.on_time_rate),
                    }
                    for child in found["children"]
                ],
            }
        )


# Closing periods ----------------------------------------------------------------------------------


class _PeriodActionApi(APIView):
    verb = "close"

    @extend_schema(request=ClosingInputSerializer, responses=dict)
    def post(self, request, period: str):
        values = parse_request(ClosingInputSerializer, request.data)
        district = selectors.administered_district(user=request.user, district_id=values.get("district"))
        chosen = parse_period(period)
        if self.verb == "close":
            services.period_close(
                actor=request.user, district=district, period=chosen, note=values.get("note", "")
            )
        else:
            services.period_reopen(
                actor=request.user, district=district, period=chosen, note=values.get("note", "")
            )
        return Response(
            {
                "district": district.pk,
                "period": chosen.key,
                "period_display": chosen.label,
                "closed": closure_data(selectors.closure_of(district.pk, chosen)),
            }
        )


class PeriodCloseApi(_PeriodActionApi):
    verb = "close"


class PeriodReopenApi(_PeriodActionApi):
    verb = "reopen"


class PeriodListApi(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("district", int, description="Default: the district you administer.")],
        responses=dict,
        summary="Closed periods of a district and the record of closing and reopening",
    )
    def get(self, request):
        district_id = request.query_params.get("district")
        district = (
            selectors.visible_unit(user=request.user, unit_id=district_id)
            if district_id
            else selectors.district_of(selectors.top_unit(request.user))
        )
        events = selectors.period_events(user=request.user, district=district)[:200]
        return Response(
            {
                "district": district.pk,
                "closed": [closure_data(c) for c in selectors.closed_periods(district=district)],
                "events": PeriodEventSerializer(events, many=True).data,
            }
        )


# Policies -----------------------------------------------------------------------------------------


class PolicyListApi(GenericAPIView):
    serializer_class = PolicyOutputSerializer
    queryset = ScoringPolicy.objects.none()

    def get_queryset(self):
        return selectors.policy_list(user=self.request.user)

    @extend_schema(
        responses=PolicyOutputSerializer(many=True),
        operation_id="v1_scoring_policies_list",
        summary="Scoring policy versions of the districts you administer",
    )
    def get(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(PolicyOutputSerializer(page, many=True).data)

    @extend_schema(
        request=PolicyInputSerializer, responses={201: PolicyOutputSerializer}, summary="A new version"
    )
    def post(self, request):
        values = parse_request(PolicyInputSerializer, request.data)
        district = selectors.administered_district(
            user=request.user, district_id=values.pop("district", None)
        )
        effective_from = parse_period(values.pop("effective_from"), field="effective_from", allow_future=True)
        note = values.pop("note", "")
        policy = services.policy_create(
            actor=request.user, district=district, effective_from=effective_from, changes=values, note=note
        )
        return Response(PolicyOutputSerializer(policy).data, status=status.HTTP_201_CREATED)


class PolicyDetailApi(APIView):
    @extend_schema(responses=PolicyOutputSerializer, summary="One policy version")
    def get(self, request, policy_id: int):
        return Response(
            PolicyOutputSerializer(selectors.policy_get(user=request.user, policy_id=policy_id)).data
        )


class PolicyEffectiveApi(APIView):
    @extend_schema(
        parameters=[*PERIOD_PARAMS, OpenApiParameter("unit", int, description="Any unit of the district.")],
        responses=dict,
        summary="The rules in force in a period (a district's version, or the default)",
    )
    def get(self, request):
        district, policy = selectors.policy_effective(
            user=request.user, unit_id=request.query_params.get("unit"), period=_period(request)
        )
        return Response(
            {
                "district": district.pk,
                "district_name": district.name,
                "period": _period(request).key,
                "version": policy.version if policy else None,
                "default": policy is None,
                "rules": rules_data(Rules.of(policy)),
            }
        )


# Work statistics ----------------------------------------------------------------------------------


def _figures(values: dict[str, Any]) -> dict[str, Any]:
    return {
        "activities": values["activities"],
        "participants": values["participants"],
        "volunteers": values["volunteers"],
        "volunteer_hours": float(values["volunteer_hours"]),
    }


class StatsApi(ExportMixin, APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("unit", int, description="Default: your own unit."),
            OpenApiParameter("period", str, description="2026-11, 2026-Q4 or 2026; or from and to"),
            OpenApiParameter("from", str, description="First day, 2026-01-01"),
            OpenApiParameter("to", str, description="Last day, 2026-07-31"),
            OpenApiParameter("category", str, description="A task category's code or id"),
            OpenApiParameter("format", str, enum=["json", "xlsx"]),
        ],
        responses=dict,
        summary="Work statistics of a unit's subtree, by category and by the units below, with the sentence for reports",
    )
    def get(self, request):
        query = request.query_params
        period = _period(request) if query.get("period") else None
        stats = selectors.work_stats(
            user=request.user,
            unit_id=query.get("unit"),
            period=period,
            first=query.get("from"),
            last=query.get("to"),
            category=query.get("category"),
        )
        if self.export_format() == "xlsx":
            return self._xlsx(stats)
        category = stats["category"]
        return Response(
            {
                "unit": stats["unit"].pk,
                "unit_name": stats["unit"].name,
                "period": stats["period"].key if stats["period"] else None,
                "from": stats["from"].isoformat(),
                "to": stats["to"].isoformat(),
                "label": stats["label"],
                "category": {"id": category.pk, "code": category.code, "name": category.name}
                if category
                else None,
                "totals": _figures(stats["totals"]),
                "by_category": [
                    {"category": row["category"], "code": row["code"], "name": row["name"], **_figures(row)}
                    for row in stats["by_category"]
                ],
                "by_child": [
                    {
                        "unit": row["unit"],
                        "unit_name": row["unit_name"],
                        "unit_code": row["unit_code"],
                        **_figures(row),
                    }
                    for row in stats["by_child"]
                ],
                "summary": stats["summary"],
            }
        )

    def _xlsx(self, stats: dict[str, Any]):
        # Totals count person-times and hours, so their headings say so (a single report's are plain).
        figures = [Column(_("Activities"), 8), Column(_("People served"), 10)]
        figures.append(Column(pgettext("statistics total", "Volunteers"), 8))
        figures.append(Column(pgettext("statistics total", "Volunteer hours"), 10))

        def values(row: dict[str, Any]) -> list[Any]:
            return [row["activities"], row["participants"], row["volunteers"], row["volunteer_hours"]]

        children = stats["by_child"]
        child_sheet = Sheet(
            _("By unit"),
            [
                _fit(_("Unit"), [row["unit_name"] for row in children], 16),
                Column(_("Unit code"), 14),
                *figures,
            ],
            [
                *([row["unit_name"], row["unit_code"], *values(row)] for row in children),
                [_("Total"), stats["unit"].code, *values(stats["totals"])],
            ],
        )
        category_sheet = Sheet(
            _("By category"),
            [_fit(_("Category"), [row["name"] for row in stats["by_category"]], 10), *figures],
            [
                *([row["name"], *values(row)] for row in stats["by_category"]),
                [_("Total"), *values(stats["totals"])],
            ],
        )
        summary_sheet = Sheet(
            _("Summary"), [_fit(_("Summary"), [stats["summary"]], 40)], [[stats["summary"]]]
        )
        name = _("Work statistics %(when)s %(unit)s") % {"when": stats["label"], "unit": stats["unit"].name}
        return export("xlsx", filename=name, sheets=[child_sheet, category_sheet, summary_sheet])


# The ledger of a task -----------------------------------------------------------------------------


class TaskLedgerApi(ExportMixin, GenericAPIView):
    formats = ("xlsx", "csv")
    pagination_class = DefaultPagination

    @extend_schema(
        parameters=[OpenApiParameter("format", str, enum=["json", "xlsx", "csv"])],
        responses=dict,
        summary="The ledger (台账) of a task: every unit, its report, review, score and photos",
    )
    def get(self, request, task_id: int):
        task, assignments = selectors.task_ledger(user=request.user, task_id=task_id)
        fmt = self.export_format()
        preview = request.build_absolute_uri(reverse("photo-preview", args=[0]))

        def photo_url(photo_id: int) -> str:
            return preview.replace("/0/preview/", f"/{photo_id}/preview/")

        if fmt == "json":
            page = self.paginate_queryset(assignments) or []
            shown = ledger_rows(Assignment.objects.filter(pk__in=[a.pk for a in page]))
            return self.get_paginated_response([_ledger_json(row, photo_url) for row in shown])
        most_photos = selectors.ledger_most_photos(assignments)
        widths = selectors.ledger_widths(assignments)
        columns = [
            Column(_("Unit"), widths["unit"]),
            Column(_("Unit code"), 14),
            Column(_("Delegated by"), widths["parent"]),
            Column(_("Status"), 8),
            Column(_("Due at"), 16),
            Column(_("Submitted at"), 16),
            Column(_("Activity time"), 16),
            Column(_("People served"), 8),
            Column(_("Volunteers"), 8),
            Column(_("Volunteer hours"), 8),
            Column(_("Reviewer"), widths["reviewer"]),
            Column(_("Decision"), 6),
            Column(_("Reviewed at"), 16),
            Column(_("Rating"), 6),
            Column(_("Score"), 6),
            Column(_("Score reason"), 30),
        ]
        if fmt == "csv":
            columns.append(Column(_("Photos"), 20))
        else:
            columns.extend(Column(photo_label(n), 8) for n in range(1, most_photos + 1))

        def link(number: int, photo_id: int) -> Link:
            return Link(photo_label(number), photo_url(photo_id))

        def rows():
            for row in ledger_rows(assignments):
                cells = ledger_cells(row, link)
                if fmt == "xlsx":
                    cells[-1] = [*cells[-1], *[None] * (most_photos - len(cells[-1]))]
                yield cells

        title = _("Ledger")
        return export(fmt, filename=f"{title} {task.title}", sheets=[Sheet(title, columns, rows())])


def _ledger_json(row: dict[str, Any], photo_url) -> dict[str, Any]:
    values = dict(row)
    for key in ("due_at", "submitted_at", "held_at", "reviewed_at"):
        values[key] = local_iso(values[key])
    for key in ("volunteer_hours", "score"):
        values[key] = float(values[key]) if values[key] is not None else None
    values["photos"] = [photo_url(photo_id) for photo_id in row["photos"]]
    return values
