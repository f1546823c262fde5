from django.urls import path

from web.views import actions, auth, compose, notifications, people, review, scores, tasks, units, work

app_name = "web"

urlpatterns = [
    path("", auth.home, name="home"),
    path("login/", auth.LoginView.as_view(), name="login"),
    path("logout/", auth.LogoutView.as_view(), name="logout"),
    path("account/", auth.account, name="account"),
    path("account/password/", auth.PasswordChangeView.as_view(), name="password_change"),
    path("mine/", work.mine, name="mine"),
    path("inbox/", work.inbox, name="inbox"),
    path("overview/", tasks.overview, name="overview"),
    path("review/", review.review_start, name="review_start"),
    path("review/<int:assignment_id>/", review.review, name="review"),
    path("assignments/<int:assignment_id>/", work.assignment_detail, name="assignment_detail"),
    path("assignments/<int:assignment_id>/accept/", actions.accept, name="assignment_accept"),
    path("assignments/<int:assignment_id>/delegate/", actions.delegate, name="assignment_delegate"),
    path("assignments/<int:assignment_id>/report/", actions.report, name="assignment_report"),
    path("assignments/<int:assignment_id>/urge/", actions.urge, name="assignment_urge"),
    path(
        "assignments/<int:assignment_id>/urge-overdue/", actions.urge_overdue, name="assignment_urge_overdue"
    ),
    path("tasks/", tasks.task_list, name="task_list"),
    path("tasks/new/", compose.task_new, name="task_new"),
    path("tasks/targets/count/", compose.target_count, name="target_count"),
    path("tasks/<int:task_id>/", tasks.task_detail, name="task_detail"),
    path("tasks/<int:task_id>/edit/", compose.task_edit, name="task_edit"),
    path("tasks/<int:task_id>/publish/", compose.task_publish, name="task_publish"),
    path("tasks/<int:task_id>/cancel/", compose.task_cancel, name="task_cancel"),
    path("tasks/<int:task_id>/close/", compose.task_close, name="task_close"),
    path("tasks/<int:task_id>/progress/", tasks.task_progress_rows, name="task_progress"),
    path("units/", units.unit_index, name="unit_index"),
    path("units/<int:unit_id>/", units.unit_detail, name="unit_detail"),
    path("units/<int:unit_id>/people/new/", people.person_new, name="person_new"),
    path("units/<int:unit_id>/import/", people.import_sheet, name="import"),
    path("scores/", scores.ranking, name="ranking"),
    path("scores/units/<int:unit_id>/", scores.unit_score, name="unit_score"),
    path("scores/periods/", scores.periods, name="score_periods"),
    path("scores/periods/<str:key>/close/", scores.period_close, name="period_close"),
    path("scores/periods/<str:key>/reopen/", scores.period_reopen, name="period_reopen"),
    path("stats/", scores.stats, name="stats"),
    path("notifications/", notifications.notification_list, name="notifications"),
    path("notifications/bell/", notifications.bell, name="bell"),
    path("notifications/read-all/", notifications.notifications_read_all, name="notifications_read_all"),
    path(
        "notifications/<int:notification_id>/open/", notifications.notification_open, name="notification_open"
    ),
    path("notifications/settings/", notifications.notification_settings, name="notification_settings"),
    path("notifications/robots/", notifications.robot_list, name="robots"),
    path("notifications/robots/new/", notifications.robot_new, name="robot_new"),
    path("notifications/robots/<int:robot_id>/edit/", notifications.robot_edit, name="robot_edit"),
    path("notifications/robots/<int:robot_id>/active/", notifications.robot_active, name="robot_active"),
    path("notifications/robots/<int:robot_id>/test/", notifications.robot_test, name="robot_test"),
    path("notifications/deliveries/", notifications.delivery_list, name="deliveries"),
]
