"""/admin/campaigns: fission campaigns, their poster template, participants, invites,
refusals and rewards."""

from typing import Annotated, Literal

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Query

from routers.contract import Cursor, error_response, file_response
from services import campaign_admin, campaign_erasure, public_base
from siyu.api.types import ImageUpload
from siyu.campaigns.api import (
    BlockIn,
    CampaignCreate,
    CampaignList,
    CampaignUpdate,
    CampaignView,
    ErasedView,
    ParticipantList,
    ParticipantView,
    RecordList,
    RenderRequested,
    RevokeIn,
    campaign_view,
    participant_view,
)
from siyu.campaigns.service import poster_url
from siyu.core.clock import utcnow

router = Router()
Limit = Annotated[int, Query(ge=1, le=200)]


def view(campaign_id: str, campaign=None) -> CampaignView:
    admin = campaign_admin()
    campaign = campaign or admin.get(campaign_id)
    join_url = f"{public_base(router.current_event)}/c/{campaign.id}"
    live = admin.live_ways(campaign.id) if campaign.wecom_users else 0
    return campaign_view(campaign, admin.stock(campaign.id), join_url, utcnow(), live)


def _participant(campaign_id: str, participant) -> ParticipantView:
    return participant_view(participant, poster_url(campaign_admin().get(campaign_id), participant))


@router.post(
    "/admin/campaigns",
    status_code=201,
    tags=["campaigns"],
    summary="Create a fission campaign",
    description="Not idempotent: every call creates a new campaign (201 each time). With `wecom.users`, invites are "
    "proven by WeCom adds through each participant's own contact way (409 if WeCom is not connected). Without it "
    "(cookie proof), the lowest tier must need at least 2 invites and `rules.invites_per_address` be below it (422 "
    "otherwise), so that one network address alone never reaches a reward.",
)
def create_campaign(body: Annotated[CampaignCreate, Body()]) -> CampaignView:
    campaign = campaign_admin().create(body, public_base(router.current_event))
    return view(campaign.id, campaign)


@router.get("/admin/campaigns", tags=["campaigns"], summary="Campaigns, newest first")
def list_campaigns(limit: Limit = 50, cursor: Cursor = None) -> CampaignList:
    campaigns, next_cursor = campaign_admin().list(limit, cursor)
    return CampaignList(items=[view(c.id, c) for c in campaigns], next_cursor=next_cursor)


@router.get("/admin/campaigns/<campaign_id>", tags=["campaigns"], summary="A campaign with its stock per tier")
def get_campaign(campaign_id: str) -> CampaignView:
    return view(campaign_id)


@router.patch(
    "/admin/campaigns/<campaign_id>",
    tags=["campaigns"],
    summary="Change name, end, stock, rules, poster, privacy notice",
    description="A cookie-proof campaign's `rules.invites_per_address` must be below its lowest tier's invites (422).",
)
def update_campaign(campaign_id: str, body: Annotated[CampaignUpdate, Body()]) -> CampaignView:
    return view(campaign_id, campaign_admin().update(campaign_id, body))


@router.put("/admin/campaigns/<campaign_id>/poster/background", tags=["campaigns"], summary="Poster background")
def set_background(campaign_id: str, body: Annotated[ImageUpload, Body()]) -> CampaignView:
    return view(campaign_id, campaign_admin().set_background(campaign_id, body.image_base64))


@router.get(
    "/admin/campaigns/<campaign_id>/poster/preview.jpg",
    tags=["campaigns"],
    summary="A sample poster",
    responses=file_response("image/jpeg", "The poster as a sample participant would get it (JPEG)."),
)
def poster_preview(campaign_id: str):
    jpeg = campaign_admin().preview(campaign_id)
    return Response(status_code=200, content_type="image/jpeg", body=jpeg, headers={"Cache-Control": "no-store"})


@router.post(
    "/admin/campaigns/<campaign_id>/posters/render",
    status_code=202,
    tags=["campaigns"],
    summary="Pre-render every missing or outdated poster (through the poster queue)",
)
def render_posters(campaign_id: str) -> RenderRequested:
    queued, current = campaign_admin().render_all(campaign_id)
    return RenderRequested(queued=queued, already_current=current)


@router.get("/admin/campaigns/<campaign_id>/participants", tags=["campaigns"], summary="Participants")
def list_participants(
    campaign_id: str, order: Literal["rank", "joined"] = "rank", limit: Limit = 50, cursor: Cursor = None
) -> ParticipantList:
    items, next_cursor = campaign_admin().participants(campaign_id, order, limit, cursor)
    return ParticipantList(items=[_participant(campaign_id, p) for p in items], next_cursor=next_cursor)


@router.get("/admin/campaigns/<campaign_id>/participants/<participant_id>", tags=["campaigns"], summary="One")
def get_participant(campaign_id: str, participant_id: str) -> ParticipantView:
    return _participant(campaign_id, campaign_admin().participant(campaign_id, participant_id))


@router.post("/admin/campaigns/<campaign_id>/participants/<participant_id>/block", tags=["campaigns"], summary="Block")
def block_participant(campaign_id: str, participant_id: str, body: Annotated[BlockIn, Body()]) -> ParticipantView:
    participant = campaign_admin().set_blocked(campaign_id, participant_id, True, body.reason)
    return _participant(campaign_id, participant)


@router.post(
    "/admin/campaigns/<campaign_id>/participants/<participant_id>/unblock", tags=["campaigns"], summary="Unblock"
)
def unblock_participant(campaign_id: str, participant_id: str) -> ParticipantView:
    return _participant(campaign_id, campaign_admin().set_blocked(campaign_id, participant_id, False, None))


@router.get("/admin/campaigns/<campaign_id>/invites", tags=["campaigns"], summary="Invites and their status")
def list_invites(campaign_id: str, limit: Limit = 100, cursor: Cursor = None) -> RecordList:
    items, next_cursor = campaign_admin().invites(campaign_id, limit, cursor)
    return RecordList(items=[i.to_json() for i in items], next_cursor=next_cursor)


@router.post("/admin/campaigns/<campaign_id>/invites/<visitor_id>/revoke", tags=["campaigns"], summary="Revoke")
def revoke_invite(campaign_id: str, visitor_id: str, body: Annotated[RevokeIn, Body()]) -> dict:
    return campaign_admin().revoke(campaign_id, visitor_id, body.reason).to_json()


@router.get("/admin/campaigns/<campaign_id>/refusals", tags=["campaigns"], summary="Refused invites and joins")
def list_refusals(campaign_id: str, limit: Limit = 100, cursor: Cursor = None) -> RecordList:
    items, next_cursor = campaign_admin().refusals(campaign_id, limit, cursor)
    return RecordList(items=[r.to_json() for r in items], next_cursor=next_cursor)


@router.get("/admin/campaigns/<campaign_id>/rewards", tags=["campaigns"], summary="Rewards and notification status")
def list_rewards(campaign_id: str, limit: Limit = 100, cursor: Cursor = None) -> RecordList:
    items, next_cursor = campaign_admin().rewards(campaign_id, limit, cursor)
    return RecordList(items=[r.to_json() for r in items], next_cursor=next_cursor)


@router.post(
    "/admin/campaigns/<campaign_id>/rewards/<participant_id>/<level>/resend",
    tags=["campaigns"],
    summary="Send a reward's notification again",
)
def resend_reward(campaign_id: str, participant_id: str, level: int) -> dict:
    return campaign_admin().resend(campaign_id, participant_id, level).to_json()


# -- erasure of personal data (campaigns/erasure.py) -------------------------------------------


@router.delete(
    "/admin/campaigns/<campaign_id>/participants/<participant_id>",
    tags=["campaigns"],
    summary="Erase one participant's personal data for good",
    description="Their nickname, avatar and every poster version, their visitor link, invites, rewards and the "
    "refusals that name them; those they referred lose the link to them. Their WeCom contact way is deleted too. "
    "404 when there is no such participant (erased already).",
    responses={503: error_response(503)},
)
def erase_participant(campaign_id: str, participant_id: str) -> ErasedView:
    erased = campaign_erasure().erase_participant(campaign_id, participant_id)
    return ErasedView(items=erased.items, objects=erased.objects, finished=erased.finished)


@router.delete(
    "/admin/campaigns/<campaign_id>",
    status_code=202,
    tags=["campaigns"],
    summary="Erase an ended campaign and all its data for good",
    description="The campaign, its participants, invites, rewards, refusals, and every version of its avatars, "
    "posters and backgrounds. 409 while it has not ended (PATCH ends_at first) or while its WeCom contact ways "
    "are still being deleted. The campaign is gone at once; `finished: false` means the campaign worker erases "
    "the rest within minutes (calling again goes on with it). Campaigns are also erased on their own "
    "CampaignDataRetentionDays after they end.",
)
def erase_campaign(campaign_id: str) -> ErasedView:
    erased = campaign_erasure().erase_campaign(campaign_id)
    return ErasedView(items=erased.items, objects=erased.objects, finished=erased.finished)
