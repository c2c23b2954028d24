"""Rendering participants' posters and storing them in the private bucket (the poster function
and the admin preview; both may import Pillow). A poster is rendered once per template version:
asking again for a current poster does nothing."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from PIL import Image

from siyu.campaigns import posters
from siyu.campaigns.ports import CampaignStore, Files
from siyu.campaigns.records import PosterJob
from siyu.campaigns.referral_ways import ParticipantWays
from siyu.campaigns.repository import CampaignsTable
from siyu.campaigns.rules import Campaign, Participant
from siyu.campaigns.service import poster_url, referral_url
from siyu.storage.uploads_bucket import UploadsBucket

logger = logging.getLogger(__name__)
PREVIEW_NICKNAME = "小美🌸Lily"
BACKGROUND_CACHE = 8


@dataclass
class PosterRenderer:
    table: CampaignStore
    bucket: Files
    ways: ParticipantWays | None = None  # WeCom campaigns' contact ways (None: WeCom not wired here)
    _backgrounds: dict[tuple[str, str | None, str], Image.Image] = field(default_factory=dict)

    @classmethod
    def from_environment(cls) -> PosterRenderer:
        return cls(CampaignsTable.from_environment(), UploadsBucket.from_environment())

    def render(self, job: PosterJob) -> str:
        """Render and store one participant's poster if it is missing or out of date."""
        campaign = self.table.campaign(job.campaign_id)
        participant = self.table.participant(job.campaign_id, job.participant_id) if campaign else None
        if campaign is None or participant is None:
            return "gone"
        if participant.poster_key and participant.poster_version == campaign.poster_version:
            return "current"
        if campaign.wecom_users:  # the poster's QR is the participant's own contact way
            if self.ways is None:
                return "no_wecom"
            participant = self.ways.ensure(campaign, participant)
            if not participant.way_url:
                return "no_way"  # the campaign ended before the way was made
        jpeg = self.poster_jpeg(campaign, participant)
        key = f"campaigns/{campaign.id}/posters/{participant.id}-v{campaign.poster_version}.jpg"
        self.bucket.put(key, jpeg, "image/jpeg")
        self.table.set_poster(participant, key, campaign.poster_version)
        return "rendered"

    def poster_jpeg(self, campaign: Campaign, participant: Participant) -> bytes:
        avatar = self._avatar(participant)
        layout = posters.layout_from(campaign.poster)
        background = self._background(campaign, layout)
        qr = poster_url(campaign, participant) or referral_url(campaign, participant.id)  # the latter: previews
        return posters.render_poster(layout, background, participant.nickname, qr, avatar).jpeg

    def preview(self, campaign: Campaign) -> bytes:
        """A sample poster for the operator (sample nickname, no avatar)."""
        sample = Participant("preview", campaign.id, "preview", PREVIEW_NICKNAME, campaign.created_at)
        return self.poster_jpeg(campaign, sample)

    def _avatar(self, participant: Participant) -> Image.Image | None:
        if not participant.avatar_key:
            return None
        try:
            return posters.open_image(self.bucket.get(participant.avatar_key))
        except Exception as error:  # a lost or unreadable avatar: the poster uses the initial instead
            logger.warning("avatar of %s unusable (%s); drawing the initial", participant.id, error)
            return None

    def _background(self, campaign: Campaign, layout: posters.PosterLayout) -> Image.Image:
        key = (campaign.id, campaign.background_key, layout.background_color)
        if key not in self._backgrounds:
            source = posters.open_image(self.bucket.get(campaign.background_key)) if campaign.background_key else None
            if len(self._backgrounds) >= BACKGROUND_CACHE:
                self._backgrounds.pop(next(iter(self._backgrounds)))
            self._backgrounds[key] = posters.background_image(layout, source)
        return self._backgrounds[key]
