from billing.passes import run_billing
from engage.commands import PassCommand


class Command(PassCommand):
    help = "Billing pass (due status changes first)"

    def run_pass(self, as_of):
        return run_billing(as_of=as_of)
