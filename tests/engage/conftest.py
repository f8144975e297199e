"""Fixtures of the sign-in and users tests: Ana, a Support user with a password that passes every validator."""

import pytest
from django.contrib.auth.models import Group

PASSWORD = "Tr0ub4dour&3-horse"


@pytest.fixture
def ana(django_user_model):
    user = django_user_model.objects.create_user("ana", "ana@example.net", PASSWORD)
    user.groups.add(Group.objects.get(name="Support"))
    return user
