from django.urls import include, path
from rest_framework_simplejwt.views import TokenRefreshView

from orgs import apis

urlpatterns = [
    path("auth/token/", apis.ThrottledTokenObtainPairView.as_view(), name="token_obtain_pair"),
    path("auth/token/refresh/", TokenRefreshView.as_view(), name="token_refresh"),
    path("me/", apis.MeApi.as_view(), name="me"),
    path("", include("orgs.import_urls")),
    path("units/", apis.UnitListApi.as_view(), name="unit-list"),
    path("units/<int:unit_id>/", apis.UnitDetailApi.as_view(), name="unit-detail"),
    path("units/<int:unit_id>/move/", apis.UnitMoveApi.as_view(), name="unit-move"),
    path("units/<int:unit_id>/tree/", apis.UnitTreeApi.as_view(), name="unit-tree"),
    path("units/<int:unit_id>/events/", apis.UnitEventsApi.as_view(), name="unit-events"),
    path("users/", apis.UserListApi.as_view(), name="user-list"),
    path("users/<int:user_id>/", apis.UserDetailApi.as_view(), name="user-detail"),
    path("memberships/", apis.MembershipListApi.as_view(), name="membership-list"),
    path("memberships/<int:membership_id>/", apis.MembershipDetailApi.as_view(), name="membership-detail"),
]
