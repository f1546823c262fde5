from django.urls import path

from tasks import apis

urlpatterns = [
    path("task-categories/", apis.CategoryListApi.as_view(), name="task-category-list"),
    path("task-categories/<int:category_id>/", apis.CategoryDetailApi.as_view(), name="task-category-detail"),
    path("tasks/", apis.TaskListApi.as_view(), name="task-list"),
    path("tasks/<int:task_id>/", apis.TaskDetailApi.as_view(), name="task-detail"),
    path("tasks/<int:task_id>/publish/", apis.TaskPublishApi.as_view(), name="task-publish"),
    path("tasks/<int:task_id>/cancel/", apis.TaskCancelApi.as_view(), name="task-cancel"),
    path("tasks/<int:task_id>/close/", apis.TaskCloseApi.as_view(), name="task-close"),
    path("tasks/<int:task_id>/progress/", apis.TaskProgressApi.as_view(), name="task-progress"),
    path("tasks/<int:task_id>/events/", apis.TaskEventsApi.as_view(), name="task-events"),
    path(
        "tasks/<int:task_id>/attachments/", apis.TaskAttachmentListApi.as_view(), name="task-attachment-list"
    ),
    path(
        "tasks/<int:task_id>/attachments/<int:attachment_id>/",
        apis.TaskAttachmentDetailApi.as_view(),
        name="task-attachment-detail",
    ),
    path("assignments/", apis.AssignmentListApi.as_view(), name="assignment-list"),
    path("assignments/<int:assignment_id>/", apis.AssignmentDetailApi.as_view(), name="assignment-detail"),
    path(
        "assignments/<int:assignment_id>/accept/",
        apis.AssignmentAcceptApi.as_view(),
        name="assignment-accept",
    ),
    path(
        "assignments/<int:assignment_id>/submissions/",
        apis.AssignmentSubmissionsApi.as_view(),
        name="assignment-submissions",
    ),
    path(
        "assignments/<int:assignment_id>/review/",
        apis.AssignmentReviewApi.as_view(),
        name="assignment-review",
    ),
    path(
        "assignments/<int:assignment_id>/delegate/",
        apis.AssignmentDelegateApi.as_view(),
        name="assignment-delegate",
    ),
    path("assignments/<int:assignment_id>/urge/", apis.AssignmentUrgeApi.as_view(), name="assignment-urge"),
    path(
        "assignments/<int:assignment_id>/events/",
        apis.AssignmentEventsApi.as_view(),
        name="assignment-events",
    ),
]
