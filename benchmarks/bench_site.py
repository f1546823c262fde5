"""The site the load benchmark serves (bench_inbox.py --part load): the real URLs plus two yardsticks.

- `/bench/plain-assignments/`: a plain DRF ListAPIView of the same rows as the inbox (the assignments
  of the units the reader sees, soonest due first, the same pagination and JWT), serialized by a
  ModelSerializer with no nesting, no annotations and no `actions`.
- `/bench/bare/`: a bare Django view, the floor of a request through the same middleware.

Not part of the application: `benchmarks/` is on the path only when a benchmark runs it.
"""

from django.http import JsonResponse
from django.urls import path
from rest_framework import generics, serializers

from config.urls import urlpatterns as site_urls
from orgs.scope import Action, unit_condition
from tasks.models import Assignment


class PlainAssignmentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Assignment
        fields = ["id", "task", "unit", "parent", "status", "due_at", "version", "created_at", "updated_at"]


class PlainAssignmentList(generics.ListAPIView):
    serializer_class = PlainAssignmentSerializer

    def get_queryset(self):
        return Assignment.objects.filter(unit_condition(self.request.user, Action.VIEW, "unit")).order_by(
            "due_at", "id"
        )


def bare(request):
    return JsonResponse({"ok": True})


urlpatterns = [
    path("bench/plain-assignments/", PlainAssignmentList.as_view()),
    path("bench/bare/", bare),
    *site_urls,
]
