from django.urls import path

from cases import views

urlpatterns = [
    path("route", views.RouteView.as_view(), name="route-preview"),
]
