from django.urls import path

from . import views

app_name = "reporting"

urlpatterns = [
    path("statistics/", views.StatisticsView.as_view(), name="statistics"),
]
