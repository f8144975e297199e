from django.urls import path

from . import views

app_name = "accounts"

urlpatterns = [
    path("accounts/", views.AccountListView.as_view(), name="list"),
    path("accounts/export.csv", views.AccountExportView.as_view(), name="export"),
    path("accounts/<int:pk>/", views.AccountOverviewView.as_view(), name="overview"),
    path("accounts/<int:pk>/status/", views.StatusPickView.as_view(), name="status"),
    path("accounts/<int:pk>/status/<int:type_pk>/", views.StatusOptionsView.as_view(), name="status-options"),
    path("accounts/<int:pk>/components/add/", views.ComponentAddView.as_view(), name="component-add"),
    path(
        "accounts/<int:pk>/components/<int:change_pk>/remove/",
        views.ComponentRemoveView.as_view(),
        name="component-remove",
    ),
    path("accounts/<int:pk>/tools/", views.ToolsView.as_view(), name="tools"),
]
