from django.urls import path

from notices import views

urlpatterns = [
    path("notices", views.NoticeListView.as_view(), name="notice-list"),
    path("notices/unread", views.NoticeSummaryView.as_view(), name="notice-summary"),
    path("notices/read-all", views.NoticeReadAllView.as_view(), name="notice-read-all"),
    path("notices/<int:pk>/read", views.NoticeReadView.as_view(), name="notice-read"),
]

mobile_urlpatterns = [
    path("notices", views.MobileNoticeSummaryView.as_view(), name="mobile-notices"),
]
