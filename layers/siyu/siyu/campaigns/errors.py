"""The refusals campaign services raise, by meaning (each a core fault, so its HTTP status is
the core one). Messages are for operators and clients; what a customer reads on the campaign
page is chosen by class in ``siyu.campaigns.pages.customer_message``."""

from __future__ import annotations

from siyu.core.errors import Conflict, TooManyRequests


class CampaignNotRunning(Conflict):
    """Joining before the campaign starts or after it ends."""


class JoinLimitReached(TooManyRequests):
    """Too many joins from one network this hour."""


class WayQuotaReached(TooManyRequests):
    """A WeCom campaign cannot take more participants: siyu's share of the corp's contact ways is used."""
