"""Reading WeCom 客户联系 callback events: one documented sample per event, missing fields, hostile input."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from siyu.wecom.events import (
    ChatChange,
    ContactChange,
    MalformedEvent,
    OtherEvent,
    TagChange,
    event_key,
    parse_event,
)

# The samples below are the 事件示例 of WeCom's 客户联系 "事件格式" page for self-built apps
# (developer.work.weixin.qq.com/document/path/92130; the same envelopes on path/96361), one per event.
HEAD = """<xml>
<ToUserName><![CDATA[toUser]]></ToUserName>
<FromUserName><![CDATA[sys]]></FromUserName>
<CreateTime>1403610513</CreateTime>
<MsgType><![CDATA[event]]></MsgType>
"""


def sample(body):
    return (HEAD + body + "\n</xml>").encode()


ADD_CONTACT = sample("""<Event><![CDATA[change_external_contact]]></Event>
<ChangeType><![CDATA[add_external_contact]]></ChangeType>
<UserID><![CDATA[zhangsan]]></UserID>
<ExternalUserID><![CDATA[woAJ2GCAAAXtWyujaWJHDDGi0mAAAA]]></ExternalUserID>
<State><![CDATA[teststate]]></State>
<WelcomeCode><![CDATA[WELCOMECODE]]></WelcomeCode>""")
EDIT_CONTACT = sample("""<Event><![CDATA[change_external_contact]]></Event>
<ChangeType><![CDATA[edit_external_contact]]></ChangeType>
<UserID><![CDATA[zhangsan]]></UserID>
<ExternalUserID><![CDATA[woAJ2GCAAAXtWyujaWJHDDGi0mACHAAA]]></ExternalUserID>""")
ADD_HALF_CONTACT = sample("""<Event><![CDATA[change_external_contact]]></Event>
<ChangeType><![CDATA[add_half_external_contact]]></ChangeType>
<UserID><![CDATA[zhangsan]]></UserID>
<ExternalUserID><![CDATA[woAJ2GCAAAXtWyujaWJHDDGi0mACHAAA]]></ExternalUserID>
<State><![CDATA[teststate]]></State>
<WelcomeCode><![CDATA[WELCOMECODE]]></WelcomeCode>""")
DEL_CONTACT = sample("""<Event><![CDATA[change_external_contact]]></Event>
<ChangeType><![CDATA[del_external_contact]]></ChangeType>
<UserID><![CDATA[zhangsan]]></UserID>
<ExternalUserID><![CDATA[woAJ2GCAAAXtWyujaWJHDDGi0mACHAAA]]></ExternalUserID>
<Source><![CDATA[DELETE_BY_TRANSFER]]></Source>""")
DEL_FOLLOW_USER = sample("""<Event><![CDATA[change_external_contact]]></Event>
<ChangeType><![CDATA[del_follow_user]]></ChangeType>
<UserID><![CDATA[zhangsan]]></UserID>
<ExternalUserID><![CDATA[woAJ2GCAAAXtWyujaWJHDDGi0mACHAAA]]></ExternalUserID>""")
TRANSFER_FAIL = sample("""<Event><![CDATA[change_external_contact]]></Event>
<ChangeType><![CDATA[transfer_fail]]></ChangeType>
<FailReason><![CDATA[customer_refused]]></FailReason>
<UserID><![CDATA[zhangsan]]></UserID>
<ExternalUserID><![CDATA[woAJ2GCAAAXtWyujaWJHDDGi0mACHAAA]]></ExternalUserID>""")
CHAT_CREATE = sample("""<Event><![CDATA[change_external_chat]]></Event>
<ChatId><![CDATA[CHAT_ID]]></ChatId>
<ChangeType><![CDATA[create]]></ChangeType>""")
CHAT_UPDATE = sample("""<Event><![CDATA[change_external_chat]]></Event>
<ChatId><![CDATA[CHAT_ID]]></ChatId>
<ChangeType><![CDATA[update]]></ChangeType>
<UpdateDetail><![CDATA[add_member]]></UpdateDetail>
<JoinScene>1</JoinScene>
<QuitScene>0</QuitScene>
<MemChangeCnt>10</MemChangeCnt>
<MemChangeList>
    <Item>Jack</Item>
    <Item>Rose</Item>
</MemChangeList>
<LastMemVer>9c3f97c2ada667dfb5f6d03308d963e1</LastMemVer>
<CurMemVer>71217227bbd112ecfe3a49c482195cb4</CurMemVer>""")
CHAT_DISMISS = sample("""<Event><![CDATA[change_external_chat]]></Event>
<ChatId><![CDATA[CHAT_ID]]></ChatId>
<ChangeType><![CDATA[dismiss]]></ChangeType>""")
TAG_CREATE = sample("""<Event><![CDATA[change_external_tag]]></Event>
<Id><![CDATA[TAG_ID]]></Id>
<TagType><![CDATA[tag]]></TagType>
<ChangeType><![CDATA[create]]></ChangeType>
<StrategyId>1</StrategyId>""")
TAG_UPDATE = sample("""<Event><![CDATA[change_external_tag]]></Event>
<Id><![CDATA[TAG_ID]]></Id>
<TagType><![CDATA[tag_group]]></TagType>
<ChangeType><![CDATA[update]]></ChangeType>
<StrategyId>1</StrategyId>""")
TAG_DELETE = sample("""<Event><![CDATA[change_external_tag]]></Event>
<Id><![CDATA[TAG_ID]]></Id>
<TagType><![CDATA[tag]]></TagType>
<ChangeType><![CDATA[delete]]></ChangeType>
<StrategyId>1</StrategyId>""")
TAG_SHUFFLE = sample("""<Event><![CDATA[change_external_tag]]></Event>
<Id><![CDATA[TAG_ID]]></Id>
<StrategyId><![CDATA[STRATEGY_ID]]></StrategyId>
<ChangeType><![CDATA[shuffle]]></ChangeType>""")

AT = 1403610513
EXTERNAL = "woAJ2GCAAAXtWyujaWJHDDGi0mACHAAA"


def test_add_external_contact():
    expected = ContactChange(
        "add_external_contact", "zhangsan", "woAJ2GCAAAXtWyujaWJHDDGi0mAAAA", "teststate", "WELCOMECODE", None, AT
    )
    assert parse_event(ADD_CONTACT) == expected


@pytest.mark.parametrize(
    ("plaintext", "expected"),
    [
        (EDIT_CONTACT, ContactChange("edit_external_contact", "zhangsan", EXTERNAL, None, None, None, AT)),
        (
            ADD_HALF_CONTACT,
            ContactChange("add_half_external_contact", "zhangsan", EXTERNAL, "teststate", "WELCOMECODE", None, AT),
        ),
        (
            DEL_CONTACT,
            ContactChange(
                "del_external_contact", "zhangsan", EXTERNAL, None, None, None, AT, source="DELETE_BY_TRANSFER"
            ),
        ),
        (DEL_FOLLOW_USER, ContactChange("del_follow_user", "zhangsan", EXTERNAL, None, None, None, AT)),
        (TRANSFER_FAIL, ContactChange("transfer_fail", "zhangsan", EXTERNAL, None, None, "customer_refused", AT)),
    ],
)
def test_the_other_contact_changes(plaintext, expected):
    assert parse_event(plaintext) == expected


def test_chat_changes():
    assert parse_event(CHAT_CREATE) == ChatChange("create", "CHAT_ID", None, None, None, None, (), AT)
    assert parse_event(CHAT_UPDATE) == ChatChange("update", "CHAT_ID", "add_member", 1, 0, 10, ("Jack", "Rose"), AT)
    assert parse_event(CHAT_DISMISS) == ChatChange("dismiss", "CHAT_ID", None, None, None, None, (), AT)


def test_an_older_chat_update_has_no_member_list():
    older = CHAT_UPDATE.split(b"<MemChangeList>")[0] + b"</xml>"
    assert parse_event(older) == ChatChange("update", "CHAT_ID", "add_member", 1, 0, 10, (), AT)


def test_tag_changes():
    assert parse_event(TAG_CREATE) == TagChange("create", "TAG_ID", "tag", "1", AT)
    assert parse_event(TAG_UPDATE) == TagChange("update", "TAG_ID", "tag_group", "1", AT)
    assert parse_event(TAG_DELETE) == TagChange("delete", "TAG_ID", "tag", "1", AT)
    assert parse_event(TAG_SHUFFLE) == TagChange("shuffle", "TAG_ID", None, "STRATEGY_ID", AT)


def test_a_shuffle_of_every_group_has_an_empty_id():
    every = TAG_SHUFFLE.replace(b"<![CDATA[TAG_ID]]>", b"")
    assert parse_event(every) == TagChange("shuffle", "", None, "STRATEGY_ID", AT)


def test_other_messages_and_change_types_are_kept_to_be_dropped():
    text = b"<xml><MsgType>text</MsgType><CreateTime>5</CreateTime><Content>hi</Content></xml>"
    assert parse_event(text) == OtherEvent("text", None, None, 5)
    audit = ADD_CONTACT.replace(b"add_external_contact]]", b"msg_audit_approved]]")
    assert parse_event(audit) == OtherEvent("event", "change_external_contact", "msg_audit_approved", AT)
    enter = sample("<Event><![CDATA[enter_agent]]></Event>")
    assert parse_event(enter) == OtherEvent("event", "enter_agent", None, AT)


@pytest.mark.parametrize(
    ("plaintext", "field"),
    [
        (ADD_CONTACT, b"UserID"),
        (ADD_CONTACT, b"ExternalUserID"),
        (TRANSFER_FAIL, b"UserID"),
        (CHAT_UPDATE, b"ChatId"),
        (TAG_CREATE, b"Id"),
        (ADD_CONTACT, b"CreateTime"),
        (ADD_CONTACT, b"MsgType"),
    ],
)
def test_a_missing_required_field_is_malformed(plaintext, field):
    start = plaintext.index(b"<" + field + b">")
    end = plaintext.index(b"</" + field + b">") + len(field) + 3
    with pytest.raises(MalformedEvent, match=field.decode()):
        parse_event(plaintext[:start] + plaintext[end:])


@pytest.mark.parametrize(
    "plaintext",
    [
        ADD_CONTACT.replace(b"<UserID><![CDATA[zhangsan]]></UserID>", b"<UserID></UserID>"),
        ADD_CONTACT.replace(b"1403610513", b"-1"),
        ADD_CONTACT.replace(b"1403610513", b"14036x"),
        CHAT_UPDATE.replace(b"<JoinScene>1</JoinScene>", b"<JoinScene>one</JoinScene>"),
        CHAT_UPDATE.replace(b"<MemChangeCnt>10</MemChangeCnt>", b"<MemChangeCnt>1_0</MemChangeCnt>"),
        b"<notxml><MsgType>event</MsgType><CreateTime>1</CreateTime></notxml>",
        b"",
        b"<xml>",
        b"\xff\xfe<\x00x\x00",
        b'<!DOCTYPE xml [<!ENTITY e "zhangsan">]>' + ADD_CONTACT.replace(b"<![CDATA[zhangsan]]>", b"&e;"),
        b"<xml><MsgType>text</MsgType><CreateTime>1</CreateTime><C>" + b"a" * (64 * 1024) + b"</C></xml>",
    ],
)
def test_bad_input_is_malformed(plaintext):
    with pytest.raises(MalformedEvent):
        parse_event(plaintext)


@pytest.mark.parametrize("encoding", ["UTF-16", "cp037"])
def test_a_declared_encoding_is_ignored_the_input_is_read_as_utf8(encoding):
    declared = f'<?xml version="1.0" encoding="{encoding}"?><xml><MsgType>文本</MsgType><CreateTime>1</CreateTime>'
    declared += "</xml>"
    assert parse_event(declared.encode()) == OtherEvent("文本", None, None, 1)


def xml_fragments():
    names = st.sampled_from(["MsgType", "Event", "ChangeType", "CreateTime", "UserID", "ChatId", "Id", "MemChangeList"])
    values = st.one_of(
        st.sampled_from(["event", "change_external_chat", "change_external_tag", "update", "shuffle", "12", "-1"]),
        st.text(max_size=20),
    )
    element = st.builds(lambda n, v: f"<{n}>{v}</{n}>", names, values)
    return st.lists(element, max_size=8).map(lambda parts: ("<xml>" + "".join(parts) + "</xml>").encode())


@given(st.one_of(st.binary(max_size=400), xml_fragments()))
def test_any_input_is_an_event_or_malformed(plaintext):
    try:
        event = parse_event(plaintext)
    except MalformedEvent:
        return
    assert isinstance(event, ContactChange | ChatChange | TagChange | OtherEvent)


def test_event_key_ignores_surrounding_whitespace_only():
    assert event_key(ADD_CONTACT) == event_key(b"\n  " + ADD_CONTACT + b"\r\n")
    assert event_key(ADD_CONTACT) != event_key(EDIT_CONTACT)
    assert len(event_key(ADD_CONTACT)) == 64 and int(event_key(ADD_CONTACT), 16) >= 0
