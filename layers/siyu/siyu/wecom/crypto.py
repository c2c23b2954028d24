"""WeCom callback crypto (企业微信 "加解密方案"), as WeCom's official WXBizMsgCrypt samples do it (pure).

msg_signature = sha1 hex of the sorted concatenation of token, timestamp, nonce and the ciphertext.
The ciphertext is base64 of AES-256-CBC (key = base64 of EncodingAESKey + "=", IV = the key's first
16 bytes, PKCS#7 padding to 32-byte blocks) over: 16 random bytes, the message length (4 bytes,
big-endian), the message, and the receive id (the corp id). Every refusal is one `CallbackRefused`
that never says which check failed: the handler answers 403 with no detail.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
import struct
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from siyu.wecom.events import MalformedEvent, read_xml

BLOCK = 32
_LENGTH = struct.Struct(">I")
_HEAD = 16 + _LENGTH.size
_AES_KEY = re.compile(r"[A-Za-z0-9+/]{43}")
_NONCE = re.compile(r"[A-Za-z0-9_-]{1,64}")
_TIMESTAMP = re.compile(r"[0-9]{1,20}")

_REPLY = (
    "<xml>\n<Encrypt><![CDATA[{encrypt}]]></Encrypt>\n<MsgSignature><![CDATA[{signature}]]></MsgSignature>\n"
    "<TimeStamp>{timestamp}</TimeStamp>\n<Nonce><![CDATA[{nonce}]]></Nonce>\n</xml>"
)


class CallbackRefused(Exception):
    """A bad signature, receive id, or undecryptable envelope. Never says which (callers answer 403 with no detail)."""


def valid_encoding_aes_key(value: str) -> bool:
    """Whether `value` is an EncodingAESKey: 43 characters of base64 that decode to 32 bytes."""
    if not _AES_KEY.fullmatch(value):
        return False
    return len(base64.b64decode(value + "=", validate=True)) == 32


@dataclass(frozen=True)
class CallbackCrypto:
    """One callback configuration: its Token, EncodingAESKey and the receive id (corp id) it expects."""

    token: str = field(repr=False)
    encoding_aes_key: str = field(repr=False)
    receive_id: str

    def __post_init__(self) -> None:
        if not valid_encoding_aes_key(self.encoding_aes_key):
            raise ValueError("EncodingAESKey must be 43 characters of base64")

    def signature(self, timestamp: str, nonce: str, encrypted: str) -> str:
        """msg_signature: sha1 hex of the sorted concatenation of token, timestamp, nonce and ciphertext."""
        return hashlib.sha1("".join(sorted((self.token, timestamp, nonce, encrypted))).encode()).hexdigest()

    def verify_url(self, msg_signature: str, timestamp: str, nonce: str, echostr: str) -> str:
        """The decrypted echostr of WeCom's URL check (the handler answers it as the body)."""
        self._check(msg_signature, timestamp, nonce, echostr)
        try:
            return self._decrypt(echostr).decode("utf-8")
        except UnicodeDecodeError:
            raise CallbackRefused() from None

    def decrypt_message(self, body: bytes | str, msg_signature: str, timestamp: str, nonce: str) -> bytes:
        """The plaintext XML inside a callback's <xml><ToUserName/><Encrypt/><AgentID/></xml> envelope."""
        encrypted = _envelope_ciphertext(body)
        self._check(msg_signature, timestamp, nonce, encrypted)
        return self._decrypt(encrypted)

    def encrypt(self, plaintext: bytes, random16: bytes | None = None) -> str:
        """Base64 ciphertext of `plaintext` for this receive id (`random16` fixed only by tests)."""
        random16 = os.urandom(16) if random16 is None else random16
        if len(random16) != 16:
            raise ValueError("random16 must be 16 bytes")
        body = random16 + _LENGTH.pack(len(plaintext)) + plaintext + self.receive_id.encode()
        encryptor = self._cipher().encryptor()
        return base64.b64encode(encryptor.update(pad(body)) + encryptor.finalize()).decode("ascii")

    def encrypt_message(self, plaintext: bytes, timestamp: str, nonce: str, random16: bytes | None = None) -> str:
        """The encrypted reply envelope, laid out as the official samples do (Encrypt, MsgSignature, TimeStamp,
        Nonce)."""
        if not _TIMESTAMP.fullmatch(timestamp) or not _NONCE.fullmatch(nonce):
            raise ValueError("timestamp must be digits and nonce letters, digits, '-' or '_'")
        encrypted = self.encrypt(plaintext, random16)
        signature = self.signature(timestamp, nonce, encrypted)
        return _REPLY.format(encrypt=encrypted, signature=signature, timestamp=timestamp, nonce=nonce)

    def _check(self, msg_signature: str, timestamp: str, nonce: str, encrypted: str) -> None:
        try:
            expected = self.signature(timestamp, nonce, encrypted)
        except UnicodeEncodeError:
            raise CallbackRefused() from None
        if not msg_signature.isascii() or not hmac.compare_digest(expected, msg_signature):
            raise CallbackRefused()

    def _decrypt(self, encrypted: str) -> bytes:
        try:
            ciphertext = base64.b64decode(encrypted, validate=True)
        except (binascii.Error, ValueError):
            raise CallbackRefused() from None
        if not ciphertext or len(ciphertext) % 16:
            raise CallbackRefused()
        decryptor = self._cipher().decryptor()
        message, receive_id = split(unpad(decryptor.update(ciphertext) + decryptor.finalize()))
        if not hmac.compare_digest(receive_id, self.receive_id.encode()):
            raise CallbackRefused()
        return message

    def _cipher(self) -> Cipher[modes.CBC]:
        key = base64.b64decode(self.encoding_aes_key + "=")
        return Cipher(algorithms.AES(key), modes.CBC(key[:16]))


def pad(data: bytes) -> bytes:
    """PKCS#7 to 32-byte blocks, as WeCom does: 1..32 bytes, each the pad's length (a full block when aligned)."""
    size = BLOCK - len(data) % BLOCK
    return data + bytes([size]) * size


def unpad(data: bytes) -> bytes:
    """`data` without its 32-byte-block PKCS#7 pad; CallbackRefused when the pad is out of range or inconsistent."""
    size = data[-1] if data else 0
    if not 1 <= size <= BLOCK or len(data) < size or data[-size:] != bytes([size]) * size:
        raise CallbackRefused()
    return data[:-size]


def split(plain: bytes) -> tuple[bytes, bytes]:
    """(message, receive id) of a decrypted body: 16 random bytes, the length, the message, the receive id."""
    if len(plain) < _HEAD:
        raise CallbackRefused()
    (length,) = _LENGTH.unpack_from(plain, 16)
    if _HEAD + length > len(plain):
        raise CallbackRefused()
    return plain[_HEAD : _HEAD + length], plain[_HEAD + length :]


def _envelope_ciphertext(body: bytes | str) -> str:
    try:
        root = read_xml(body)
    except MalformedEvent:
        raise CallbackRefused() from None
    element = root.find("Encrypt")
    encrypted = (element.text or "").strip() if element is not None else ""
    if root.tag != "xml" or not encrypted:
        raise CallbackRefused()
    return encrypted
