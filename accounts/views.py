from django.shortcuts import get_object_or_404, render
from django.views import View

from engage.views import StaffRequiredMixin

from .forms import AccountFilterForm
from .models import Account
from .selectors import account_search, account_statistics, pending_changes, status_history

PAGE_SIZE = 50


class AccountListView(StaffRequiredMixin, View):
    """Search and filters; keyset paging on id, so page N costs what page 1 does (no COUNT(*))."""

    def get(self, request):
        form = AccountFilterForm(request.GET or None)
        accounts, next_after, status = [], None, 200
        if form.is_bound and not form.is_valid():
            status = 400
        else:
            data = form.cleaned_data if form.is_bound else {}
            qs = account_search(
                q=data.get("q", ""), status_type=data.get("status_type"), backend_status=data.get("backend_status", "")
            )
            if data.get("after"):
                qs = qs.filter(id__lt=data["after"])
            accounts = list(qs[: PAGE_SIZE + 1])
            if len(accounts) > PAGE_SIZE:
                accounts = accounts[:PAGE_SIZE]
                next_after = accounts[-1].pk
        params = request.GET.copy()
        params.pop("after", None)
        return render(
            request,
            "accounts/list.html",
            {"form": form, "accounts": accounts, "next_after": next_after, "query": params.urlencode(),
             "is_first_page": not request.GET.get("after"), "nav": "accounts"},
            status=status,
        )


class AccountOverviewView(StaffRequiredMixin, View):
    def get(self, request, pk):
        account = get_object_or_404(Account.objects.select_related("status_type"), pk=pk)
        return render(request, "accounts/overview.html", overview_context(account))


def overview_context(account):
    from billing.selectors import account_billing_summary
    from provisioning.selectors import provisioning_summary

    return {
        "account": account,
        "pending": list(pending_changes(account.pk)),
        "history": list(status_history(account.pk)),
        "billing": account_billing_summary(account.pk),
        "provisioning": provisioning_summary(account.pk),
        "nav": "accounts",
    }


class StatisticsView(StaffRequiredMixin, View):
    def get(self, request):
        return render(request, "accounts/statistics.html", {"rows": account_statistics(), "nav": "statistics"})
