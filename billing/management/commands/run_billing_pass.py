from billing.passes import PASS_NAME, run_billing
from engage.commands import PassCommand


class Command(PassCommand):
    help = "Billing pass (the day's due status changes first)"
    pass_name = PASS_NAME

    def run_pass(self, as_of):
        return run_billing(as_of=as_of)
