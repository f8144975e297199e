from dunning.passes import run_collections_pass
from engage.commands import PassCommand


class Command(PassCommand):
    help = "Collections pass (every day since the last successful run, in order)"

    def run_pass(self, as_of):
        result = run_collections_pass(as_of=as_of)
        return "\n" + "\n".join(
            "  " + ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in day.items()) for day in result["days"])
