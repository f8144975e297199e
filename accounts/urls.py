from django.urls import path

from . import views

app_name = "accounts"

urlpatterns = [
    path("accounts/", views.AccountListView.as_view(), name="list"),
    path("accounts/<int:pk>/", views.AccountOverviewView.as_view(), name="overview"),
    path("statistics/", views.StatisticsView.as_view(), name="statistics"),
]
