"""`field__any=[ids]`: membership in a list as one parameter. On PostgreSQL `field = ANY(%s)` with the list
sent as one array, so a batch of thousands of ids costs one placeholder (Django's `__in` writes and parses
one placeholder per id, which the passes' profiles showed); elsewhere (SQLite) the same `IN (…)` as `__in`.

    ProvisioningJob.objects.filter(id__any=ids).update(state="done")
"""

from django.db.models import BigAutoField, BigIntegerField, ForeignKey, IntegerField, Lookup
from django.db.models.lookups import In


class AnyOf(Lookup):
    lookup_name = "any"
    prepare_rhs = False

    def get_prep_lookup(self):
        return [int(value) for value in self.rhs]  # ids: anything else is refused here, not by the database

    def as_sql(self, compiler, connection):
        if connection.vendor != "postgresql":
            return In(self.lhs, self.rhs).as_sql(compiler, connection)
        lhs, lhs_params = self.process_lhs(compiler, connection)
        return f"{lhs} = ANY(%s::bigint[])", [*lhs_params, self.rhs]


def register() -> None:
    for field in (IntegerField, BigIntegerField, BigAutoField, ForeignKey):
        field.register_lookup(AnyOf)
