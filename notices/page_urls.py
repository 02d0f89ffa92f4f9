from django.urls import path

from notices import page_views

app_name = "notices"
urlpatterns = [
    path("", page_views.notice_list, name="list"),
    path("<int:pk>/read", page_views.read, name="read"),
    path("read-all", page_views.read_all, name="read-all"),
]
