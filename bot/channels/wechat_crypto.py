"""Safe mode (消息加解密, AES): opening WeChat's encrypted pushes and sealing our passive replies.

The scheme is wechatpy's `WeChatCrypto` (the tests play WeChat with it): AES-256-CBC keyed by the
EncodingAESKey with its first 16 bytes as IV, PKCS#7 padding to 32 bytes, plaintext = 16 random bytes +
4-byte big-endian length + XML + AppId, and `MsgSignature` = SHA-1 of the sorted token, timestamp, nonce and
ciphertext. wechatpy builds a new cipher for every message and draws the random bytes through
`random.sample`, which made it half of the endpoint's own cost per message in safe mode; here the cipher is
built once.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import secrets

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from wechatpy.utils import WeChatSigner

BLOCK = 32  # WeChat pads to 32 bytes, not AES's 16
ENVELOPE = (
    "<xml><Encrypt><![CDATA[{encrypt}]]></Encrypt><MsgSignature><![CDATA[{signature}]]></MsgSignature>"
    "<TimeStamp>{timestamp}</TimeStamp><Nonce><![CDATA[{nonce}]]></Nonce></xml>"
)


class NotForUs(ValueError):
    """Signed with another token or encrypted for another AppId."""


class Undecryptable(ValueError):
    """The ciphertext does not open to a message (bad base64, length, padding or text)."""


class MessageCrypto:
    """One Official Account's token, EncodingAESKey and AppId."""

    def __init__(self, token: str, aes_key: str, app_id: str) -> None:
        key = base64.b64decode(aes_key + "=")
        self._cipher = Cipher(algorithms.AES(key), modes.CBC(key[:16]))
        self.token = token
        self.app_id = app_id.encode()

    def signature(self, timestamp: str, nonce: str, encrypt: str) -> str:
        signer = WeChatSigner()
        signer.add_data(self.token, timestamp, nonce, encrypt)
        return str(signer.signature)

    def decrypt(self, encrypt: str, msg_signature: str, timestamp: str, nonce: str) -> str:
        """The pushed XML inside `<Encrypt>`, once its signature and AppId are ours."""
        if not hmac.compare_digest(self.signature(timestamp, nonce, encrypt), msg_signature):
            raise NotForUs("bad msg_signature")
        try:
            data = base64.b64decode(encrypt, validate=True)
        except binascii.Error:
            raise Undecryptable("not base64") from None
        if not data or len(data) % BLOCK:
            raise Undecryptable(f"ciphertext of {len(data)} bytes")
        decryptor = self._cipher.decryptor()
        plain = decryptor.update(data) + decryptor.finalize()
        pad = plain[-1]
        if not 1 <= pad <= BLOCK or len(plain) < 20 + pad:
            raise Undecryptable("bad padding")
        body = plain[16:-pad]
        length = int.from_bytes(body[:4], "big")
        if length > len(body) - 4:
            raise Undecryptable("length beyond the message")
        if body[4 + length :] != self.app_id:
            raise NotForUs("another AppId")
        try:
            return body[4 : 4 + length].decode()
        except UnicodeDecodeError:
            raise Undecryptable("not UTF-8") from None

    def encrypt(self, xml: str, timestamp: str, nonce: str) -> str:
        """The reply envelope carrying `xml`, as WeChat expects a passive reply in safe mode."""
        text = xml.encode()
        plain = secrets.token_hex(8).encode() + len(text).to_bytes(4, "big") + text + self.app_id
        pad = BLOCK - len(plain) % BLOCK
        encryptor = self._cipher.encryptor()
        sealed = encryptor.update(plain + bytes([pad]) * pad) + encryptor.finalize()
        encrypt = base64.b64encode(sealed).decode()
        signature = self.signature(timestamp, nonce, encrypt)
        return ENVELOPE.format(encrypt=encrypt, signature=signature, timestamp=timestamp, nonce=nonce)
