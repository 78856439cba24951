"""sync.contract.signing: the envelope central signs and the hall opens."""

from __future__ import annotations

import pytest

from sync.contract import wire
from sync.contract.signing import Refused, Signer, Trust, parse_public_key


def test_signing_only_the_trusted_key_for_the_same_topic_and_body_opens():
    central, other = Signer.generate(), Signer.generate()
    trust = Trust([central.public_key])
    topic = wire.ack_topic("h-a")
    assert trust.open(topic, central.seal(topic, b"body")) == b"body"
    cases = {
        "unsigned": b"\x81\xa1v\x01",
        "unknown_key": other.seal(topic, b"body"),
        "bad_signature": central.seal(wire.ack_topic("h-b"), b"body"),  # another hall's topic
    }
    for reason, data in cases.items():
        with pytest.raises(Refused) as r:
            trust.open(topic, data)
        assert r.value.reason == reason
    sealed = wire.decode(central.seal(topic, b"body"), wire.Sealed)
    tampered = wire.encode(wire.Sealed(v=wire.V, kid=sealed.kid, sig=sealed.sig, body=b"other"))
    with pytest.raises(Refused, match="bad_signature"):
        trust.open(topic, tampered)
    for sig in (sealed.sig[:63], sealed.sig + b"\0", b""):  # not 64 bytes: refused, not a crash
        short = wire.encode(wire.Sealed(v=wire.V, kid=sealed.kid, sig=sig, body=sealed.body))
        with pytest.raises(Refused, match="bad_signature"):
            trust.open(topic, short)


def test_signing_central_signs_with_cryptography_and_the_hall_verifies_with_pynacl():
    """Two libraries, one algorithm: the hall's VerifyKey is made from the raw public key
    central's cryptography key gives, and the RFC 8032 signature verifies; the hall's Trust
    never holds a cryptography object."""
    from nacl.signing import VerifyKey

    central = Signer.generate()
    trust = Trust([central.public_key])
    (key,) = trust.keys.values()
    assert isinstance(key, VerifyKey) and bytes(key) == central.raw_public
    message = b"onestop"
    assert key.verify(message, central._key.sign(message)) == message


def test_signing_rotation_trusts_both_keys_and_bad_keys_are_named():
    old, new = Signer.generate(), Signer.generate()
    trust = Trust([old.public_key, new.public_key])
    for s in (old, new):
        assert trust.open(wire.TIME_TOPIC, s.seal(wire.TIME_TOPIC, b"t")) == b"t"
    with pytest.raises(ValueError, match="not base64"):
        parse_public_key("not a key!")
    with pytest.raises(ValueError, match="32 bytes"):
        parse_public_key("AAAA")
    with pytest.raises(ValueError, match="no public key"):
        Trust(["", ""])


def test_signing_version_plausibility():
    assert wire.config_version_refusal(5, 6) is None
    assert wire.config_version_refusal(5, 5 + wire.MAX_VERSION_STEP) is None
    assert wire.config_version_refusal(5, 4)[0] == "stale_version"
    assert wire.config_version_refusal(5, 6 + wire.MAX_VERSION_STEP)[0] == "version_jump"
    assert wire.config_version_refusal(wire.MAX_CONFIG_VERSION, wire.MAX_CONFIG_VERSION + 1)[0] == "version_jump"
