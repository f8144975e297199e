"""Setup → Accounts and Roles: Account Status Types and Status Reasons, configured on the generic views."""

from engage.views import BulkDeleteView, ObjectEditView, ObjectListView

from . import services
from .forms import AccountStatusTypeForm, StatusReasonForm
from .models import AccountStatusType, StatusReason
from .selectors import status_reason_list, status_type_list, with_account_counts
from .usage import accounts_using


class StatusTypeListView(ObjectListView):
    queryset = status_type_list()
    template_name = "statuses/type_list.html"
    title = "Account Status Types"
    add_url = "statuses:type-add"
    delete_url = "statuses:type-delete"

    def objects(self):
        return with_account_counts(self.queryset.all())


class StatusTypeEditView(ObjectEditView):
    model = AccountStatusType
    form_class = AccountStatusTypeForm
    template_name = "statuses/type_edit.html"
    list_url = "statuses:type-list"
    add_url = "statuses:type-add"
    verbose_name = "account status type"
    verbose_name_plural = "Account Status Types"

    def create(self, data):
        return services.status_type_create(**data)

    def update(self, obj, data):
        return services.status_type_update(obj, **data)

    def extra_context(self, obj):
        return {"account_count": accounts_using(obj) if obj else None}


class StatusTypeDeleteView(BulkDeleteView):
    model = AccountStatusType
    list_url = "statuses:type-list"
    verbose_name_plural = "account status types"

    def delete_rows(self, ids):
        return services.status_types_delete(ids)

    def refusal(self, obj):
        return services.status_type_delete_refusal(obj)


class StatusReasonListView(ObjectListView):
    queryset = status_reason_list()
    template_name = "statuses/reason_list.html"
    title = "Status Reasons"
    add_url = "statuses:reason-add"
    delete_url = "statuses:reason-delete"


class StatusReasonEditView(ObjectEditView):
    model = StatusReason
    form_class = StatusReasonForm
    template_name = "statuses/reason_edit.html"
    list_url = "statuses:reason-list"
    add_url = "statuses:reason-add"
    verbose_name = "status reason"
    verbose_name_plural = "Status Reasons"

    def create(self, data):
        return services.status_reason_create(**data)

    def update(self, obj, data):
        return services.status_reason_update(obj, **data)


class StatusReasonDeleteView(BulkDeleteView):
    model = StatusReason
    list_url = "statuses:reason-list"
    verbose_name_plural = "status reasons"

    def delete_rows(self, ids):
        return services.status_reasons_delete(ids)

    def refusal(self, obj):
        return services.status_reason_delete_refusal(obj)
