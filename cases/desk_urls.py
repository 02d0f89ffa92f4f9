"""The dispatcher desk (办理端口), mounted at /desk/."""

from django.urls import path

from cases import desk_intake, desk_views
from grids import desk_views as registry_desk

app_name = "desk"

urlpatterns = [
    path("", desk_views.queue, name="queue"),
    path("new", desk_intake.intake, name="new"),
    path("find", desk_intake.find, name="find"),
    path("cases/<int:pk>/", desk_views.case_page, name="case"),
    path("registry/", registry_desk.queue, name="registry"),
    path("registry/<int:pk>/decide", registry_desk.decide, name="registry-decide"),
]
