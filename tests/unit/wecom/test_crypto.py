"""WeCom callback crypto against the published sample vectors, and its refusals of anything else."""

import base64
from contextlib import suppress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from siyu.wecom.crypto import BLOCK, CallbackCrypto, CallbackRefused, pad, unpad, valid_encoding_aes_key
from siyu.wecom.events import read_xml

# Vectors of WeCom's official WXBizMsgCrypt samples (the Python one is "WXBizMsgCrypt3 Sample.py"; the same
# values are in the C# Sample.cs and in the 加解密方案 page, developer.work.weixin.qq.com/document/path/90968).
TOKEN = "QDG6eK"
CORP_ID = "wx5823bf96d3bd56c7"
AES_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
OFFICIAL = CallbackCrypto(TOKEN, AES_KEY, CORP_ID)

VERIFY = {
    "msg_signature": "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3",
    "timestamp": "1409659589",
    "nonce": "263014780",
    "echostr": "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ==",
}
MESSAGE_ENCRYPT = (
    "RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg3W/sYYvu"
    "JTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ+HMZfJYuR+Ltw"
    "Gc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V"
    "2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptD"
    "AVe0lXdQ2YoyyH2uyPIGHBZZIs2pDBS8R07+qN+E7Q=="
)
MESSAGE_BODY = (
    f"<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName><Encrypt><![CDATA[{MESSAGE_ENCRYPT}]]></Encrypt>"
    "<AgentID><![CDATA[218]]></AgentID></xml>"
)
MESSAGE = {
    "msg_signature": "477715d11cdb4164915debcba66cb864d751f3e6",
    "timestamp": "1409659813",
    "nonce": "1372623149",
}

# Vectors of wechatpy's tests/test_crypto.py (github.com/wechatpy/wechatpy), made with its WeCom crypto
# (wechatpy/work/crypto.py): a second key, and an encrypted reply with its random bytes fixed.
WECHATPY = CallbackCrypto("123456", "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR", "wx49f0ab532d5d035a")
WECHATPY_REPLY = b"""<xml>
<MsgType><![CDATA[text]]></MsgType>
<Content><![CDATA[test]]></Content>
<FromUserName><![CDATA[wx49f0ab532d5d035a]]></FromUserName>
<ToUserName><![CDATA[messense]]></ToUserName>
<AgentID>1</AgentID>
<CreateTime>1411525903</CreateTime>
</xml>"""
WECHATPY_ENCRYPTED_REPLY = """<xml>
<Encrypt><![CDATA[9s4gMv99m88kKTh/H8IdkOiMg6bisoy3ypwy9H4hvSPe9nsGaqyw5hhSjdYbcrKk+j3nba4HMOTzHrluLBYqxgNcBqGsL8GqxlhZgURnAtObvesEl5nZ+uBE8bviY0LWke8Zy9V/QYKxNV2FqllNXcfmstttyIkMKCCmVbCFM2JTF5wY0nFhHZSjPUL2Q1qvSUCUld+/WIXrx0oyKQmpB6o8NRrrNrsDf03oxI1p9FxUgMnwKKZeOA/uu+2IEvEBtb7muXsVbwbgX05UPPJvFurDXafG0RQyPR+mf1nDnAtQmmNOuiR5MIkdQ39xn1vWwi1O5oazPoQJz0nTYjxxEE8kv3kFxtAGVRe3ypD3WeK2XeFYFMNMpatF9XiKzHo3]]></Encrypt>
<MsgSignature><![CDATA[407518b7649e86ef23978113f92d27afa9296533]]></MsgSignature>
<TimeStamp>1411525903</TimeStamp>
<Nonce><![CDATA[461056294]]></Nonce>
</xml>"""  # noqa: E501


def test_the_official_url_verification_vector():
    assert OFFICIAL.verify_url(**VERIFY) == "1616140317555161061"


def test_the_official_message_vector():
    plaintext = OFFICIAL.decrypt_message(MESSAGE_BODY, **MESSAGE)
    root = read_xml(plaintext)
    assert b"<Content><![CDATA[hello]]></Content>" in plaintext
    assert root.findtext("ToUserName") == CORP_ID
    assert root.findtext("MsgId") == "4561255354251345929"
    assert root.findtext("AgentID") == "218"


def test_the_official_message_as_bytes_and_signed_as_published():
    assert OFFICIAL.decrypt_message(MESSAGE_BODY.encode(), **MESSAGE).startswith(b"<xml>")
    assert OFFICIAL.signature(MESSAGE["timestamp"], MESSAGE["nonce"], MESSAGE_ENCRYPT) == MESSAGE["msg_signature"]


def test_wechatpy_url_verification_vector():
    echostr = "4ByGGj+sVCYcvGeQYhaKIk1o0pQRNbRjxybjTGblXrBaXlTXeOo1+bXFXDQQb1o6co6Yh9Bv41n7hOchLF6p+Q=="
    verified = WECHATPY.verify_url("dd6b9c95b495b3f7e2901bfbc76c664930ffdb96", "1411443780", "437374425", echostr)
    assert verified.isdigit()
    with pytest.raises(CallbackRefused):  # wechatpy's failing case: the same request with another nonce
        WECHATPY.verify_url("dd6b9c95b495b3f7e2901bfbc76c664930ffdb96", "1411443780", "437374424", echostr)


def test_wechatpy_encrypted_reply_vector():
    reply = WECHATPY.encrypt_message(WECHATPY_REPLY, "1411525903", "461056294", random16=b"1234567890123456")
    assert reply == WECHATPY_ENCRYPTED_REPLY


def test_an_encrypted_message_decrypts_back():
    plaintext = "<xml><Content>你好</Content></xml>".encode()
    envelope = OFFICIAL.encrypt_message(plaintext, "1700000000", "42")
    root = read_xml(envelope)
    signature, encrypted = root.findtext("MsgSignature"), root.findtext("Encrypt")
    body = f"<xml><ToUserName>{CORP_ID}</ToUserName><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"
    assert OFFICIAL.decrypt_message(body, signature, "1700000000", "42") == plaintext


@given(st.binary(max_size=2000))
def test_encrypt_then_decrypt_is_the_identity(plaintext):
    encrypted = OFFICIAL.encrypt(plaintext)
    body = f"<xml><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"
    assert OFFICIAL.decrypt_message(body, OFFICIAL.signature("1", "2", encrypted), "1", "2") == plaintext


def test_random_bytes_differ_per_encryption_unless_fixed():
    assert OFFICIAL.encrypt(b"x") != OFFICIAL.encrypt(b"x")
    assert OFFICIAL.encrypt(b"x", b"r" * 16) == OFFICIAL.encrypt(b"x", b"r" * 16)
    with pytest.raises(ValueError):
        OFFICIAL.encrypt(b"x", b"short")


def test_a_tampered_signature_is_refused():
    tampered = dict(VERIFY, msg_signature="5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd4")
    with pytest.raises(CallbackRefused):
        OFFICIAL.verify_url(**tampered)
    with pytest.raises(CallbackRefused):
        OFFICIAL.decrypt_message(MESSAGE_BODY, **dict(MESSAGE, timestamp="1409659814"))


def test_another_corp_id_is_refused():
    with pytest.raises(CallbackRefused):
        CallbackCrypto(TOKEN, AES_KEY, "wx5823bf96d3bd56c8").verify_url(**VERIFY)
    with pytest.raises(CallbackRefused):
        CallbackCrypto(TOKEN, AES_KEY, "wx5823bf96d3bd56c").decrypt_message(MESSAGE_BODY, **MESSAGE)


def test_another_token_is_refused():
    with pytest.raises(CallbackRefused):
        CallbackCrypto("QDG6eL", AES_KEY, CORP_ID).verify_url(**VERIFY)


def test_another_key_is_refused():
    with pytest.raises(CallbackRefused):
        CallbackCrypto(TOKEN, "A" * 43, CORP_ID).decrypt_message(MESSAGE_BODY, **MESSAGE)


@pytest.mark.parametrize("cut", [1, 4, 16, 20, 64])
def test_a_truncated_ciphertext_is_refused(cut):
    raw = base64.b64decode(MESSAGE_ENCRYPT)
    truncated = base64.b64encode(raw[:-cut]).decode()
    body = f"<xml><Encrypt><![CDATA[{truncated}]]></Encrypt></xml>"
    with pytest.raises(CallbackRefused):
        OFFICIAL.decrypt_message(body, OFFICIAL.signature("1", "2", truncated), "1", "2")


def encrypt_raw(crypto, plain):
    """Ciphertext of exactly `plain` (already padded, or not), signed, as a callback body."""
    encryptor = crypto._cipher().encryptor()
    encrypted = base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode()
    return f"<xml><Encrypt>{encrypted}</Encrypt></xml>", crypto.signature("1", "2", encrypted)


@pytest.mark.parametrize("last", [0, 33, 255])
def test_a_pad_out_of_range_is_refused(last):
    body, signature = encrypt_raw(OFFICIAL, b"\x00" * 63 + bytes([last]))
    with pytest.raises(CallbackRefused):
        OFFICIAL.decrypt_message(body, signature, "1", "2")


def test_an_inconsistent_pad_is_refused():
    plain = b"r" * 16 + b"\x00\x00\x00\x01" + b"x" + CORP_ID.encode()
    good = pad(plain)
    bad = good[:-2] + bytes([good[-1] + 1]) + good[-1:]
    body, signature = encrypt_raw(OFFICIAL, bad)
    with pytest.raises(CallbackRefused):
        OFFICIAL.decrypt_message(body, signature, "1", "2")
    assert OFFICIAL.decrypt_message(*encrypt_raw(OFFICIAL, good), "1", "2") == b"x"


def test_a_length_beyond_the_body_is_refused():
    body, signature = encrypt_raw(OFFICIAL, pad(b"r" * 16 + b"\x00\x01\x00\x00" + b"x" + CORP_ID.encode()))
    with pytest.raises(CallbackRefused):
        OFFICIAL.decrypt_message(body, signature, "1", "2")


def test_padding_is_to_32_byte_blocks():
    assert pad(b"a" * 31) == b"a" * 31 + b"\x01"
    assert pad(b"a" * 32) == b"a" * 32 + bytes([32]) * 32  # aligned: a whole pad block
    assert pad(b"a" * 16) == b"a" * 16 + bytes([16]) * 16  # 16-aligned is not enough
    assert unpad(pad(b"a" * 32)) == b"a" * 32
    # 16 random + 4 length + 12 message + 18 corp id = 50 bytes -> 64, so 4 blocks of AES (16 bytes each)
    assert len(base64.b64decode(OFFICIAL.encrypt(b"x" * 12))) == 64
    # 16 + 4 + 26 + 18 = 64 bytes exactly -> a full 32-byte pad block follows
    assert len(base64.b64decode(OFFICIAL.encrypt(b"x" * 26))) == 96
    assert BLOCK == 32


@pytest.mark.parametrize(
    "body",
    [
        "",
        "not xml",
        "<xml><ToUserName>x</ToUserName></xml>",
        "<xml><Encrypt></Encrypt></xml>",
        "<other><Encrypt>abcd</Encrypt></other>",
        '<!DOCTYPE xml [<!ENTITY e "x">]><xml><Encrypt>&e;</Encrypt></xml>',
        '<?xml version="1.0"?><!DOCTYPE xml SYSTEM "http://example.com/x.dtd"><xml><Encrypt>a</Encrypt></xml>',
        "<xml><Encrypt>" + "A" * (64 * 1024) + "</Encrypt></xml>",
        b"<xml><Encrypt>\xff\xfe</Encrypt></xml>",
        "<xml><Encrypt>\ud800</Encrypt></xml>",
    ],
)
def test_hostile_envelopes_are_refused(body):
    with pytest.raises(CallbackRefused):
        OFFICIAL.decrypt_message(body, MESSAGE["msg_signature"], "1", "2")


def test_a_billion_laughs_is_refused_before_parsing():
    laughs = '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">' + "".join(
        f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10 if i else "&lol;" * 10}">' for i in range(9)
    )
    with pytest.raises(CallbackRefused):
        OFFICIAL.decrypt_message(laughs + "]><xml><Encrypt>&lol8;</Encrypt></xml>", "x", "1", "2")


texts = st.text(max_size=200)


@given(st.one_of(st.binary(max_size=500), texts), texts, texts, texts)
def test_any_message_is_decrypted_or_refused(body, signature, timestamp, nonce):
    with suppress(CallbackRefused):
        OFFICIAL.decrypt_message(body, signature, timestamp, nonce)


@given(texts, texts, texts, texts)
def test_any_url_check_is_answered_or_refused(signature, timestamp, nonce, echostr):
    with suppress(CallbackRefused):
        OFFICIAL.verify_url(signature, timestamp, nonce, echostr)


@given(st.binary(min_size=1, max_size=300))
def test_any_signed_ciphertext_is_decrypted_or_refused(ciphertext):
    # Past the signature: whatever the envelope carries, only CallbackRefused escapes the decryption.
    encrypted = base64.b64encode(ciphertext).decode()
    body = f"<xml><Encrypt>{encrypted}</Encrypt></xml>"
    with suppress(CallbackRefused):
        OFFICIAL.decrypt_message(body, OFFICIAL.signature("1", "2", encrypted), "1", "2")


def test_encoding_aes_keys():
    assert valid_encoding_aes_key(AES_KEY)
    assert not valid_encoding_aes_key(AES_KEY[:-1])
    assert not valid_encoding_aes_key(AES_KEY + "A")
    assert not valid_encoding_aes_key(AES_KEY[:-1] + "=")
    assert not valid_encoding_aes_key(AES_KEY[:-1] + "é")
    with pytest.raises(ValueError):
        CallbackCrypto(TOKEN, "short", CORP_ID)


def test_secrets_stay_out_of_the_repr():
    assert TOKEN not in repr(OFFICIAL) and AES_KEY not in repr(OFFICIAL)


def test_a_reply_refuses_a_timestamp_or_nonce_that_would_break_the_xml():
    with pytest.raises(ValueError):
        OFFICIAL.encrypt_message(b"x", "17]]>", "1")
    with pytest.raises(ValueError):
        OFFICIAL.encrypt_message(b"x", "1", "]]><x>")
