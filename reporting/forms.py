from django import forms

from engage.errors import DomainError, add_to_form
from engage.input_fields import PageDateField

from .statistics import resolve_period


class StatisticsPeriodForm(forms.Form):
    """The statistics page's period for status changes per reason; both dates default (last 30 days)."""

    start = PageDateField(label="From", what="The start of the period", required=False)
    end = PageDateField(label="To", what="The end of the period", required=False)

    def __init__(self, *args, today, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        try:
            data["start"], data["end"] = resolve_period(data.get("start"), data.get("end"), today=self.today)
        except DomainError as err:
            add_to_form(self, err)
        return data
