from engage.commands import PassCommand
from provisioning.audit import switch_audit


class Command(PassCommand):
    help = "Switch audit (every account read from the switch; what differs is repaired)"

    def run_pass(self, as_of):
        return switch_audit(as_of=as_of)
