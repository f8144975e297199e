"""Setup → Accounts and Roles → Collection Steps, configured on the generic list / edit / bulk-delete views."""

from engage.views import BulkDeleteView, ObjectEditView, ObjectListView

from .forms import CollectionStepForm
from .models import CollectionStep
from .steps import step_create, step_delete_refusal, step_update, steps_delete, steps_in_order


class StepListView(ObjectListView):
    queryset = steps_in_order()
    template_name = "dunning/step_list.html"
    title = "Collection Steps"
    add_url = "dunning:step-add"
    delete_url = "dunning:step-delete"


class StepEditView(ObjectEditView):
    model = CollectionStep
    form_class = CollectionStepForm
    list_url = "dunning:step-list"
    add_url = "dunning:step-add"
    verbose_name = "collection step"
    verbose_name_plural = "Collection Steps"

    def create(self, data):
        return step_create(**data)

    def update(self, obj, data):
        return step_update(obj, **data)


class StepDeleteView(BulkDeleteView):
    model = CollectionStep
    list_url = "dunning:step-list"
    verbose_name_plural = "collection steps"

    def delete_rows(self, ids):
        return steps_delete(ids)

    def refusal(self, obj):
        return step_delete_refusal(obj)
