from dunning.passes import PASS_NAME, run_collections_pass
from engage.commands import PassCommand


class Command(PassCommand):
    help = "Collections pass (in the business day's order: each missed day's passes first)"
    pass_name = PASS_NAME

    def run_pass(self, as_of):
        return run_collections_pass(as_of=as_of)

    def words(self, result) -> str:
        return ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in result.items())
