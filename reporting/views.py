from django.shortcuts import render
from django.views import View

from dunning.aging import latest_aging
from engage.clock import today
from engage.views import StaffRequiredMixin

from .forms import StatisticsPeriodForm
from .statistics import default_period, statistics_overview


class StatisticsView(StaffRequiredMixin, View):
    """Counts per status type and back-end status, the daily snapshots as a chart, status changes per
    reason over a period (?start=&end=, default the last 30 days), and scheduler health."""

    def get(self, request):
        day = today()
        bound = any(request.GET.get(key) is not None for key in ("start", "end"))
        form = StatisticsPeriodForm(request.GET if bound else None, today=day)
        period = None
        if not bound:
            period = default_period(day)
            form = StatisticsPeriodForm(initial=dict(zip(("start", "end"), period, strict=True)), today=day)
        elif form.is_valid():
            period = form.cleaned_data["start"], form.cleaned_data["end"]
        context = statistics_overview(on=day, period=period, csp_nonce=str(request.csp_nonce))
        return render(
            request,
            "reporting/statistics.html",
            {**context, "aging": latest_aging(), "form": form, "nav": "statistics"},
            status=200 if period else 400,
        )
