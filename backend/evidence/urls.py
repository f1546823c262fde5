from django.urls import path

from evidence import apis

urlpatterns = [
    path("photos/<int:photo_id>/thumbnail/", apis.PhotoThumbnailApi.as_view(), name="photo-thumbnail"),
    path("photos/<int:photo_id>/preview/", apis.PhotoPreviewApi.as_view(), name="photo-preview"),
]
