"""Safe mode (消息加解密, AES): opening WeChat's encrypted pushes and sealing our passive replies, by wechatpy.

wechatpy's `WeChatCrypto` implements the scheme (AES-256-CBC keyed by the EncodingAESKey, 32-byte PKCS#7, the
AppId check, `MsgSignature`); this module only tells its failures apart, because the endpoint answers them
differently: a push signed or sealed for someone else is refused (403), one that does not open is broken (400).
"""

from __future__ import annotations

from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException


class NotForUs(ValueError):
    """Signed with another token or encrypted for another AppId."""


class Undecryptable(ValueError):
    """The ciphertext does not open to a message (bad base64, length, padding or text)."""


class MessageCrypto:
    """One Official Account's token, EncodingAESKey and AppId."""

    def __init__(self, token: str, aes_key: str, app_id: str) -> None:
        self._crypto = WeChatCrypto(token, aes_key, app_id)

    def decrypt(self, encrypt: str, msg_signature: str, timestamp: str, nonce: str) -> str:
        """The pushed XML inside `<Encrypt>`, once its signature and AppId are ours."""
        try:
            plain = self._crypto.decrypt_message({"Encrypt": encrypt}, msg_signature, timestamp, nonce)
        except (InvalidSignatureException, InvalidAppIdException) as exc:
            raise NotForUs(type(exc).__name__) from None
        except Exception as exc:  # wechatpy lets base64, padding and UTF-8 errors through as they come
            raise Undecryptable(f"{type(exc).__name__}: {exc}") from None
        return plain.decode() if isinstance(plain, bytes) else str(plain)

    def encrypt(self, xml: str, timestamp: str, nonce: str) -> str:
        """The reply envelope carrying `xml`, as WeChat expects a passive reply in safe mode."""
        return str(self._crypto.encrypt_message(xml, nonce, timestamp))
