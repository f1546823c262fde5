from django.urls import path

from notifications import apis

urlpatterns = [
    path("notifications/", apis.NotificationListApi.as_view(), name="notification-list"),
    path("notifications/unread-count/", apis.UnreadCountApi.as_view(), name="notification-unread-count"),
    path("notifications/read-all/", apis.NotificationReadAllApi.as_view(), name="notification-read-all"),
    path("notifications/preferences/", apis.PreferencesApi.as_view(), name="notification-preferences"),
    path(
        "notifications/<int:notification_id>/read/",
        apis.NotificationReadApi.as_view(),
        name="notification-read",
    ),
    path("robots/", apis.RobotListApi.as_view(), name="robot-list"),
    path("robots/<int:robot_id>/", apis.RobotDetailApi.as_view(), name="robot-detail"),
    path("robots/<int:robot_id>/test/", apis.RobotTestApi.as_view(), name="robot-test"),
    path("deliveries/", apis.DeliveryListApi.as_view(), name="delivery-list"),
    path("tasks/<int:task_id>/reminders/", apis.TaskRemindersApi.as_view(), name="task-reminders"),
]
