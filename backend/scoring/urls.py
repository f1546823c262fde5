from django.urls import path

from scoring import apis

urlpatterns = [
    path("scores/leaderboard/", apis.LeaderboardApi.as_view(), name="score-leaderboard"),
    path("scores/units/<int:unit_id>/", apis.UnitScoreApi.as_view(), name="score-unit"),
    path("scores/periods/", apis.PeriodListApi.as_view(), name="score-periods"),
    path("scores/periods/<str:period>/close/", apis.PeriodCloseApi.as_view(), name="score-period-close"),
    path("scores/periods/<str:period>/reopen/", apis.PeriodReopenApi.as_view(), name="score-period-reopen"),
    path("scoring/policies/", apis.PolicyListApi.as_view(), name="scoring-policy-list"),
    path("scoring/policies/effective/", apis.PolicyEffectiveApi.as_view(), name="scoring-policy-effective"),
    path("scoring/policies/<int:policy_id>/", apis.PolicyDetailApi.as_view(), name="scoring-policy-detail"),
    path("stats/", apis.StatsApi.as_view(), name="stats"),
    path("tasks/<int:task_id>/ledger/", apis.TaskLedgerApi.as_view(), name="task-ledger"),
]
