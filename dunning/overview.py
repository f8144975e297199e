"""The Collections card on the account Overview (SPEC §11): what is overdue, the exemption, the episode and
the steps it ran, and — when someone changed the status by hand after a step moved it — that no automatic
restore will happen. Registered as a panel of the Overview (registry.py), which draws what is registered."""

from engage.clock import today

from .models import CollectionEpisode
from .overdue import collections_overdue
from .passes import exempt_on
from .restore import changed_by_hand


def collections_card(account, request) -> dict:
    day = today()
    episode = (CollectionEpisode.objects.filter(account_id=account.pk)
               .select_related("moved_by", "type_before", "moved_change__to_type").order_by("-started_on", "-id")
               .first())
    runs = list(episode.step_runs.select_related("change").order_by("ran_on", "id")) if episode else []
    by_hand = changed_by_hand([episode]).get(account.pk) if episode and episode.ended_on is None else None
    return {
        "overdue": collections_overdue(day, [account.pk]).get(account.pk),
        "exempt": exempt_on(account.collections_exempt_until, day),
        "episode": episode,
        "runs": runs,
        "by_hand": by_hand,
    }
