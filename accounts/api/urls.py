"""Nested account routes (status changes, packages, usage, charges, bill, provisioning)."""


urlpatterns: list = [
]
