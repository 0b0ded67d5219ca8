"""The WeChat / WeCom message crypto (the protocol of the official WXBizMsgCrypt samples),
on the `cryptography` package.

Signature: sha1 of the sorted strings (token, timestamp, nonce[, encrypted message]).
Cipher: AES-256-CBC, key = base64(EncodingAESKey + "="), IV = first 16 bytes of the key;
plaintext = random(16) + length(4, network order) + message + receive id (appid or
corpid), PKCS#7-padded to a multiple of 32 bytes.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import struct
import time

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

BLOCK = 32


class CryptoError(ValueError):
    """A payload that does not decrypt to a message for this account."""


class SignatureError(CryptoError):
    """The request was not signed with our token: it does not come from WeChat."""


def signature(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode("utf-8")).hexdigest()


def check_signature(expected: str, *parts: str) -> None:
    if not expected or not hmac.compare_digest(signature(*parts), expected.lower()):
        raise SignatureError("signature mismatch")


class StaleRequest(SignatureError):
    """Signed with our token, but not now: a captured request sent again later."""


def check_timestamp(timestamp: str, window: int) -> None:
    """A signature proves who sent a request, not when; its signed timestamp must be within
    `window` seconds of now (0: not checked)."""
    if window <= 0:
        return
    try:
        sent = int(timestamp)
    except ValueError:
        raise StaleRequest(f"timestamp {timestamp!r} is not a number") from None
    if abs(time.time() - sent) > window:
        raise StaleRequest(f"timestamp {sent} is more than {window} s from now")


class MessageCrypto:
    def __init__(self, token: str, encoding_aes_key: str, receive_id: str):
        try:
            key = base64.b64decode(encoding_aes_key + "=", validate=True)
        except binascii.Error as exc:
            raise ValueError("EncodingAESKey is not valid base64") from exc
        if len(encoding_aes_key) != 43 or len(key) != 32:
            raise ValueError("EncodingAESKey must be 43 characters (32 bytes)")
        self.token, self.key, self.receive_id = token, key, receive_id

    def _cipher(self) -> Cipher:
        return Cipher(algorithms.AES(self.key), modes.CBC(self.key[:16]))

    def encrypt(self, message: str, prefix: bytes | None = None) -> str:
        body = message.encode("utf-8")
        plain = (prefix or os.urandom(16)) + struct.pack(">I", len(body)) + body + self.receive_id.encode("utf-8")
        pad = BLOCK - len(plain) % BLOCK
        encryptor = self._cipher().encryptor()
        return base64.b64encode(encryptor.update(plain + bytes([pad]) * pad) + encryptor.finalize()).decode("ascii")

    def decrypt(self, encrypted: str) -> str:
        try:
            data = base64.b64decode(encrypted, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise CryptoError("payload is not base64") from exc
        if not data or len(data) % 16:
            raise CryptoError("payload length is not a multiple of the block size")
        decryptor = self._cipher().decryptor()
        plain = decryptor.update(data) + decryptor.finalize()
        pad = plain[-1]
        if not 1 <= pad <= BLOCK or plain[-pad:] != bytes([pad]) * pad:
            raise CryptoError("bad padding")
        content = plain[16:-pad]
        if len(content) < 4:
            raise CryptoError("truncated payload")
        (length,) = struct.unpack(">I", content[:4])
        message, receive_id = content[4:4 + length], content[4 + length:]
        if len(message) != length or receive_id.decode("utf-8", "replace") != self.receive_id:
            raise CryptoError("payload is for another account")
        try:
            return message.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise CryptoError("message is not UTF-8") from exc

    def sign(self, timestamp: str, nonce: str, encrypted: str) -> str:
        return signature(self.token, timestamp, nonce, encrypted)
