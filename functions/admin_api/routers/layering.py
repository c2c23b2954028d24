"""/admin/questionnaires, /admin/segments, /admin/tags and /admin/visitors: customer layering
(问卷 → tags → segments), a visitor's tags, and erasing a respondent or a visitor."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Query

from routers.contract import Cursor, file_response
from services import code_admin, layering_admin, public_base, scan_url
from siyu.core.errors import NotFound
from siyu.layering.api import (
    ContactLink,
    ContactLinkCreate,
    MemberList,
    MemberView,
    QuestionnaireCreate,
    QuestionnaireCreated,
    QuestionnaireList,
    QuestionnaireView,
    RuleInput,
    SegmentCreate,
    SegmentList,
    SegmentPreview,
    SegmentRouteCreate,
    SegmentView,
    TagList,
    TagView,
    VisitorView,
    questionnaire_view,
    segment_view,
    visitor_view,
)
from siyu.live_codes.api import OptionView, option_view
from siyu.web.visitors import is_visitor_id

router = Router()
Limit = Annotated[int, Query(ge=1, le=200)]
CSV = "text/csv; charset=utf-8"


def _url(questionnaire_id: str) -> str:
    return f"{public_base(router.current_event)}/q/{questionnaire_id}"


@router.post("/admin/questionnaires", status_code=201, tags=["layering"], summary="Build a questionnaire (问卷)")
def create_questionnaire(body: Annotated[QuestionnaireCreate, Body()]) -> QuestionnaireCreated:
    """Each option's `tag` is the codebook: answering with that option puts the tag on the visitor.
    Rules across fields (422): single and multi questions need options, text and phone questions have
    none; a label appears once per question; one phone question at most."""
    questionnaire = layering_admin().create_questionnaire(
        body.title, body.questions_records(), body.intro, body.thanks, body.thanks_link, body.signup
    )
    return QuestionnaireCreated(id=questionnaire.id, url=_url(questionnaire.id))


@router.get("/admin/questionnaires", tags=["layering"], summary="List questionnaires, newest first")
def list_questionnaires(limit: Limit = 50, cursor: Cursor = None) -> QuestionnaireList:
    admin = layering_admin()
    items, next_cursor = admin.questionnaire_page(limit, cursor)
    views = [questionnaire_view(q, admin.questionnaire(q.id)[1], _url(q.id)) for q in items]
    return QuestionnaireList(items=views, next_cursor=next_cursor)


@router.get("/admin/questionnaires/<questionnaire_id>", tags=["layering"], summary="A questionnaire and its counts")
def get_questionnaire(questionnaire_id: str) -> QuestionnaireView:
    questionnaire, counts = layering_admin().questionnaire(questionnaire_id)
    return questionnaire_view(questionnaire, counts, _url(questionnaire.id))


@router.get(
    "/admin/questionnaires/<questionnaire_id>/responses.csv",
    tags=["layering"],
    summary="The responses (CSV)",
    responses=file_response("text/csv", "One line per respondent: visitor, time, tags, phone, then each answer."),
)
def responses_csv(questionnaire_id: str):
    body = "".join(layering_admin().responses_csv(questionnaire_id))
    headers = {"Content-Disposition": f'attachment; filename="questionnaire-{questionnaire_id}.csv"'}
    return Response(status_code=200, content_type=CSV, body=body, headers=headers)


@router.delete(
    "/admin/questionnaires/<questionnaire_id>/responses/<visitor_id>",
    status_code=204,
    tags=["layering"],
    summary="Erase one respondent's answers and phone (their tags from it go too)",
)
def erase_respondent(questionnaire_id: str, visitor_id: str) -> None:
    if not layering_admin().erase_respondent(questionnaire_id, visitor_id):
        raise NotFound(f"visitor {visitor_id[:40]!r} has not answered questionnaire {questionnaire_id[:40]!r}")


@router.post(
    "/admin/questionnaires/<questionnaire_id>/contact-links",
    status_code=201,
    tags=["layering"],
    summary="The questionnaire's link for one WeCom contact (signed, expiring): answers tag the contact too",
)
def contact_link(questionnaire_id: str, body: Annotated[ContactLinkCreate, Body()]) -> ContactLink:
    url = layering_admin().contact_link(
        questionnaire_id, public_base(router.current_event), body.external_userid, body.userid, body.days
    )
    return ContactLink(url=url, expires_in_days=body.days)


@router.post(
    "/admin/segments", status_code=201, tags=["layering"], summary="Create a segment (existing visitors backfilled)"
)
def create_segment(body: Annotated[SegmentCreate, Body()]) -> SegmentView:
    """The rule needs at least one condition, and no tag in both `all` and `none` (422 otherwise). Existing
    visitors who match are added before the answer (a one-time paged pass); later ones as their tags change."""
    return segment_view(layering_admin().create_segment(body.name, body.rule.record()))


@router.post("/admin/segments/preview", tags=["layering"], summary="Preview a rule's count before making it a segment")
def preview_segment(body: Annotated[RuleInput, Body()]) -> SegmentPreview:
    """A one-off pass over visitors' profiles (at most 20,000); the same rules as a segment's `rule` (422)."""
    count, looked_at, complete = layering_admin().preview(body.record())
    return SegmentPreview(count=count, looked_at=looked_at, complete=complete)


@router.get("/admin/segments", tags=["layering"], summary="List segments with their counts")
def list_segments() -> SegmentList:
    return SegmentList(items=[segment_view(s) for s in layering_admin().all_segments()])


@router.get("/admin/segments/<segment_id>", tags=["layering"], summary="A segment and its member count")
def get_segment(segment_id: str) -> SegmentView:
    return segment_view(layering_admin().segment(segment_id))


@router.get(
    "/admin/segments/<segment_id>/members", tags=["layering"], summary="A segment's members (visitors, contacts)"
)
def segment_members(segment_id: str, limit: Limit = 50, cursor: Cursor = None) -> MemberList:
    profiles, next_cursor = layering_admin().members(segment_id, limit, cursor)
    items = [
        MemberView(
            visitor_id=p.visitor_id,
            external_userid=p.contact.external_user_id if p.contact else None,
            tags=sorted(p.tags),
            updated_at=p.updated_at,
        )
        for p in profiles
    ]
    return MemberList(items=items, next_cursor=next_cursor)


@router.get(
    "/admin/segments/<segment_id>/members.csv",
    tags=["layering"],
    summary="Export a segment's members (CSV)",
    responses=file_response("text/csv", "One line per member: visitor id, WeCom external_userid, tags, updated."),
)
def segment_members_csv(segment_id: str):
    admin = layering_admin()
    admin.segment(segment_id)
    body = "".join(admin.members_csv(segment_id))
    headers = {"Content-Disposition": f'attachment; filename="segment-{segment_id}.csv"'}
    return Response(status_code=200, content_type=CSV, body=body, headers=headers)


@router.post(
    "/admin/codes/<code_id>/segment-routes",
    status_code=201,
    tags=["layering"],
    summary="Route a segment to its own pool (精准群): add targets with the route's id as option_id",
)
def add_segment_route(code_id: str, body: Annotated[SegmentRouteCreate, Body()]) -> OptionView:
    """On a group or staff code (409 on a grouped code, or a segment routed twice): a scanner in the segment
    gets the route's pool, everyone else the code's main pool (its targets without option_id). Routes are
    tried in the order they were added. 404 when the segment or the code does not exist."""
    segment = layering_admin().segment(body.segment_id)
    route = code_admin().add_segment_route(code_id, segment.id, body.label or segment.name[:40])
    return option_view(route, scan_url(router.current_event, code_id))


@router.get("/admin/tags", tags=["layering"], summary="The tag library: every tag with its sources")
def tag_library() -> TagList:
    library = layering_admin().tag_library()
    return TagList(items=[TagView(tag=t, sources=sorted(s)) for t, s in sorted(library.items())])


@router.get("/admin/visitors/<visitor_id>", tags=["layering"], summary="A visitor: tags, segments, codes")
def visitor(visitor_id: str) -> VisitorView:
    """`visitor_id` is the `siyu_vid` cookie of a scanner or a respondent."""
    if not is_visitor_id(visitor_id):
        raise NotFound(f"no visitor {visitor_id[:40]!r}: the id is the siyu_vid cookie of a scanner or respondent")
    return visitor_view(layering_admin().visitor(visitor_id))


@router.delete(
    "/admin/visitors/<visitor_id>",
    status_code=204,
    tags=["layering"],
    summary="Erase what layering keeps of a visitor: answers, phones, tags, memberships",
)
def erase_visitor(visitor_id: str) -> None:
    if not is_visitor_id(visitor_id) or not layering_admin().erase_visitor(visitor_id):
        raise NotFound(f"no layering data for visitor {visitor_id[:40]!r}")
