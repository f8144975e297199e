from accounts.passes import PASS_NAME
from engage.business_day import run_pass_for
from engage.commands import PassCommand


class Command(PassCommand):
    help = "Applied due status changes"
    pass_name = PASS_NAME

    def run_pass(self, as_of):
        return run_pass_for(PASS_NAME, as_of)
