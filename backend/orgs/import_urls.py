from django.urls import path

from orgs.import_apis import UnitImportApi, UserImportApi

urlpatterns = [
    path("units/import/", UnitImportApi.as_view(), name="unit-import"),
    path("users/import/", UserImportApi.as_view(), name="user-import"),
]
