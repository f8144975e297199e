from engage.commands import PassCommand
from provisioning.passes import provisioning_pass


class Command(PassCommand):
    help = "Provisioning pass"

    def run_pass(self, as_of):
        return provisioning_pass(as_of=as_of)
