"""Setup → Users (Administrators) and Your sign-in (/me/): included by engage/urls.py without a namespace, since
engage/sessions.py sends a session that owes a new password to "me-password"."""

from django.urls import path

from . import user_views as views

urlpatterns = [
    path("setup/users/", views.UserListView.as_view(), name="users"),
    path("setup/users/add/", views.UserAddView.as_view(), name="user-add"),
    path("setup/users/<int:pk>/", views.UserDetailView.as_view(), name="user-detail"),
    path("setup/users/<int:pk>/role/", views.UserRoleView.as_view(), name="user-role"),
    path("setup/users/<int:pk>/deactivate/", views.UserDeactivateView.as_view(), name="user-deactivate"),
    path("setup/users/<int:pk>/reactivate/", views.UserReactivateView.as_view(), name="user-reactivate"),
    path("setup/users/<int:pk>/reset-password/", views.UserResetPasswordView.as_view(), name="user-reset-password"),
    path("setup/users/<int:pk>/revoke-tokens/", views.UserTokenRevokeView.as_view(), name="user-revoke-tokens"),
    path("me/", views.MeView.as_view(), name="me"),
    path("me/password/", views.MePasswordView.as_view(), name="me-password"),
    path("me/tokens/", views.MeTokensView.as_view(), name="me-tokens"),
    path("me/tokens/revoke/", views.MeTokenRevokeView.as_view(), name="me-token-revoke"),
]
