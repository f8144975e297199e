from accounts.passes import apply_due_status_changes
from engage.commands import PassCommand


class Command(PassCommand):
    help = "Applied due status changes"

    def run_pass(self, as_of):
        return apply_due_status_changes(as_of=as_of)
