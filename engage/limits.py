"""Bounds of values, written once: models, services, forms and serializers all read them from here."""

from decimal import Decimal

# Money columns are DecimalField(max_digits=12, decimal_places=2): ten digits before the point.
MONEY_MAX_DIGITS = 12
MONEY_DECIMAL_PLACES = 2
MAX_AMOUNT = Decimal("9999999999.99")
MAX_QUANTITY = 100_000

NOTE_MAX_CHARS = 2000  # the note on a status change
PACKAGE_NAME_MAX_CHARS = 100
DESCRIPTION_MAX_CHARS = 200  # a usage record's description

ERROR_MAX_CHARS = 2000  # one error kept on a job or a billing failure
DETAIL_MAX_CHARS = 5000  # what a pass run records of itself
