from django.urls import path

from mobileapi import views

urlpatterns = [
    path("auth/token", views.TokenView.as_view(), name="mobile-token"),
    path("me", views.MeView.as_view(), name="mobile-me"),
    path("patrols", views.PatrolView.as_view(), name="mobile-patrols"),
]
