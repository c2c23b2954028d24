"""WeCom's callback crypto (WXBizMsgCrypt), written here independently of the product's.

Follows WeCom's 加解密方案说明 (developer.work.weixin.qq.com/document/path/90968): the AES key is
base64(EncodingAESKey + "="), AES-256-CBC with IV = key[:16]; the plaintext is 16 random bytes,
the message length as 4 big-endian bytes, the message, then the receiver id (the corp id),
PKCS#7-padded to a 32-byte block; msg_signature = sha1 of the sorted concatenation of
token, timestamp, nonce and the ciphertext.
"""

from __future__ import annotations

import base64
import hashlib
import os
import struct

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

BLOCK = 32


def aes_key(encoding_aes_key: str) -> bytes:
    key = base64.b64decode(encoding_aes_key + "=")
    if len(key) != 32:
        raise ValueError("EncodingAESKey must be 43 characters (32 bytes once decoded)")
    return key


def signature(token: str, timestamp: str, nonce: str, encrypted: str) -> str:
    return hashlib.sha1("".join(sorted([token, timestamp, nonce, encrypted])).encode()).hexdigest()


def _pad(data: bytes) -> bytes:
    size = BLOCK - len(data) % BLOCK
    return data + bytes([size]) * size


def _unpad(data: bytes) -> bytes:
    size = data[-1]
    if not 1 <= size <= BLOCK:
        raise ValueError("bad padding")
    return data[:-size]


def encrypt(encoding_aes_key: str, message: str, receiver_id: str, prefix: bytes | None = None) -> str:
    """The base64 ciphertext of one message; prefix (16 bytes) is random unless given."""
    key = aes_key(encoding_aes_key)
    body = message.encode()
    plain = (prefix if prefix is not None else os.urandom(16)) + struct.pack(">I", len(body)) + body
    plain += receiver_id.encode()
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(encryptor.update(_pad(plain)) + encryptor.finalize()).decode()


def decrypt(encoding_aes_key: str, encrypted: str) -> tuple[str, str]:
    """(message, receiver id) of one base64 ciphertext."""
    key = aes_key(encoding_aes_key)
    decryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
    plain = _unpad(decryptor.update(base64.b64decode(encrypted)) + decryptor.finalize())
    (length,) = struct.unpack(">I", plain[16:20])
    return plain[20 : 20 + length].decode(), plain[20 + length :].decode()
