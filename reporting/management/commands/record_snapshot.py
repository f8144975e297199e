from engage.commands import PassCommand
from reporting.statistics import record_snapshot


class Command(PassCommand):
    help = "Recorded the statistics snapshot (accounts per status type)"

    def run_pass(self, as_of):
        return f"{record_snapshot(day=as_of)} status types"
