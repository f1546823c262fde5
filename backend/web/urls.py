from django.urls import path

from web.views import auth, tasks, units, work

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
    path("assignments/<int:assignment_id>/", work.assignment_detail, name="assignment_detail"),
    path("tasks/", tasks.task_list, name="task_list"),
    path("tasks/<int:task_id>/", tasks.task_detail, name="task_detail"),
    path("tasks/<int:task_id>/progress/", tasks.task_progress_rows, name="task_progress"),
    path("units/", units.unit_index, name="unit_index"),
    path("units/<int:unit_id>/", units.unit_detail, name="unit_detail"),
]
