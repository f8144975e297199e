from rest_framework.permissions import SAFE_METHODS, BasePermission

from .roles import is_administrator, is_staff_role


class IsStaffRole(BasePermission):
    """Administrators and Support."""

    def has_permission(self, request, view):
        return is_staff_role(request.user)


class AdminWritesStaffReads(BasePermission):
    """Support may read; only Administrators write (Setup data)."""

    def has_permission(self, request, view):
        if request.method in SAFE_METHODS:
            return is_staff_role(request.user)
        return is_administrator(request.user)
