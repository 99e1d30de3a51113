"""FHIR ``Bundle.signature``: partners sign their bundles, we verify them against configured keys.

The signature follows FHIR R4's JSON signature form (Signature datatype, signatures.html):

- ``sigFormat`` is ``application/jose``; ``data`` is the base64 of a JWS in compact serialisation
  with a *detached* payload (``header..signature``, RFC 7515 appendix F);
- the payload is the bundle's canonical JSON, ``Bundle.signature`` itself removed (a signature
  cannot sign itself);
- ``who`` names the signing party by its party-id identifier (``NamingSystem/party-id``), directly
  or through the bundle entry it refers to; ``when`` is an R4 instant;
- ``targetFormat``, when present, is ``application/fhir+json`` with no canonicalisation parameter
  or the one implemented here.

Canonical JSON (``http://hl7.org/fhir/canonicalization/json``). R4 states two rules: no whitespace
other than inside property values (and the narrative's XHTML), and properties ordered
alphabetically. Where R4 says no more (how to write a string, what "alphabetically" means
beyond ASCII), the JSON Canonicalization Scheme (RFC 8785) decides, as R5 and the Da Vinci CDex
guide do, so a signer using a JCS library produces the same bytes:

- members of every object sorted by their names' UTF-16 code units; arrays keep their order;
- no whitespace between tokens; UTF-8; strings escaped as JCS does (``\\"``, ``\\\\``, ``\\b``,
  ``\\f``, ``\\n``, ``\\r``, ``\\t``, other control characters as ``\\u00xx``; nothing else);
- integers in plain decimal; a FHIR decimal exactly as it was written (FHIR keeps a decimal's
  precision, so ``1.50`` is signed as ``1.50``; here alone the form differs from RFC 8785, which
  would write the double ``1.5``);
- the narrative (``text``) and ``meta`` are signed too (not the ``#data`` or ``#static`` variants):
  what the partner shows a person is part of what it vouches for.

Keys come only from the organisation's configuration (a JSON object ``{"<party-id>": [JWK, ...]}``
of public keys); a header that carries or points at a key (``jwk``, ``jku``, ``x5u``, ``x5c``) is
refused, as are ``alg: none``, HMAC, any other algorithm than ES256, ES384, EdDSA (Ed25519),
PS256 and RS256, and any ``crit`` header (none is understood). ``cryptography`` is imported only
when a key is loaded or a signature made or checked, so ``import ketenzorg`` stays light.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, Final

import attrs
import orjson

from ketenzorg.errors import MalformedInputError, Problem, ValidationError
from ketenzorg.interop.definitions import PARTY_ID
from ketenzorg.interop.instant import parse_instant

__all__ = [
    "ALGORITHMS",
    "CANONICALIZATION",
    "SIG_FORMAT",
    "KeyFileError",
    "PartyKeys",
    "SignatureError",
    "UnknownSignerError",
    "canonical_json",
    "parse_instant",
    "sign_bundle",
    "verify_bundle",
]

CANONICALIZATION: Final = "http://hl7.org/fhir/canonicalization/json"
SIG_FORMAT: Final = "application/jose"
TARGET_FORMAT: Final = f"application/fhir+json;canonicalization={CANONICALIZATION}"
SOURCE_SIGNATURE: Final = {
    "system": "urn:iso-astm:E1762-95:2013",
    "code": "1.2.840.10065.1.12.1.14",
    "display": "Source Signature",
}
"""Signature.type: the signature of the party that is the source of the information."""

ALGORITHMS: Final = ("ES256", "ES384", "EdDSA", "PS256", "RS256")
"""The JWS algorithms accepted; each goes with one kind of key (:data:`_KEY_KINDS`)."""
_KEY_KINDS: Final = {
    "ES256": ("EC", "P-256"),
    "ES384": ("EC", "P-384"),
    "EdDSA": ("OKP", "Ed25519"),
    "PS256": ("RSA", None),
    "RS256": ("RSA", None),
}
_EC_SIZES: Final = {"P-256": 32, "P-384": 48}
_PRIVATE_MEMBERS: Final = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
_KEY_HEADERS: Final = ("jwk", "jku", "x5u", "x5c")
"""Headers that carry or point at a key: keys come only from the configuration."""
MIN_RSA_BITS: Final = 2048
_B64URL = re.compile(r"[A-Za-z0-9_-]*")


class SignatureError(ValidationError):
    """A ``Bundle.signature`` that does not prove who sent the bundle; problems at ``Bundle.signature...``."""


class UnknownSignerError(SignatureError):
    """A signature by a party for which no key is configured: it can be neither trusted nor refuted."""


class KeyFileError(MalformedInputError):
    """A partner keys file that cannot be used; each problem names the party and key (``party[0].crv``)."""


def _instant(moment: datetime) -> str:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("when: expected a date-time with a timezone")
    text = moment.isoformat(timespec="seconds")
    return text[:-6] + "Z" if text.endswith("+00:00") else text


# --- canonical JSON ------------------------------------------------------------------------------


def _utf16(name: str) -> bytes:
    return name.encode("utf-16-be", "surrogatepass")


def _ordered(value: Any) -> Any:
    """``value`` with every object's members in canonical order, ready for orjson to write.

    orjson writes strings exactly as RFC 8785 does (only ``"``, ``\\`` and control characters
    escaped) and keeps an object's member order; a decimal is written as it was read. Exact types
    are tried first: parsed JSON holds only dict, list, str, int, bool and Decimal.
    """
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return value
    if kind is dict or isinstance(value, Mapping):
        try:
            names = sorted(value)
            ascii_names = "".join(names).isascii()
        except TypeError:
            raise ValueError("an object with a name that is not a string") from None
        if not ascii_names:  # code points and UTF-16 code units order differently above U+D7FF
            names.sort(key=_utf16)
        return {name: _ordered(value[name]) for name in names}
    if kind is list or isinstance(value, list | tuple):
        return [_ordered(item) for item in value]
    if isinstance(value, str | int):  # subclasses (an enum's value, say)
        return str(value) if isinstance(value, str) else int(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError("a number that is not finite")
        return orjson.Fragment(str(value))
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("a number that is not finite")
        return value
    raise ValueError(f"a {type(value).__name__} is not a JSON value")


def canonical_json(resource: Mapping[str, Any]) -> bytes:
    """The canonical JSON of a resource (see the module's docstring); ``ValueError`` if it has none.

    For a Bundle, ``Bundle.signature`` is left out: this is what a signature of the bundle signs.
    """
    if resource.get("resourceType") == "Bundle":
        resource = {k: v for k, v in resource.items() if k != "signature"}
    try:
        return orjson.dumps(_ordered(resource))
    except orjson.JSONEncodeError:  # a lone surrogate, or an integer beyond 64 bits
        raise ValueError("holds text that is not valid Unicode or a number too large") from None


# --- keys ----------------------------------------------------------------------------------------


def _b64url(value: Any) -> bytes:
    """Strict base64url without padding (RFC 7515 section 2); ``ValueError`` if it is not."""
    if not isinstance(value, str) or not value or _B64URL.fullmatch(value) is None or len(value) % 4 == 1:
        raise ValueError("is not base64url")
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        raise ValueError("is not base64url") from None


def _b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


@attrs.frozen
class _Key:
    """One configured public key of a party."""

    kty: str
    crv: str | None
    kid: str | None
    alg: str | None
    public: Any = attrs.field(eq=False, repr=False)
    """The ``cryptography`` public key."""

    def fits(self, alg: str) -> bool:
        kty, crv = _KEY_KINDS[alg]
        return self.kty == kty and (crv is None or self.crv == crv) and self.alg in (None, alg)


def _public_key(jwk: Mapping[str, Any], where: str, problems: list[Problem]) -> _Key | None:
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

    kty = jwk.get("kty")
    if kty == "oct":
        problems.append(Problem(f"{where}.kty", "a symmetric key is not accepted: configure the public key"))
        return None
    if kty not in ("EC", "OKP", "RSA"):
        problems.append(Problem(f"{where}.kty", "expected EC, OKP or RSA"))
        return None
    private = sorted(_PRIVATE_MEMBERS & set(jwk))
    if private:
        problems.append(
            Problem(f"{where}.{private[0]}", "holds private key material: configure only the public key")
        )
        return None
    reported = len(problems)
    use, ops, kid, alg = jwk.get("use"), jwk.get("key_ops"), jwk.get("kid"), jwk.get("alg")
    if use is not None and use != "sig":
        problems.append(Problem(f"{where}.use", "a signature key has use 'sig'"))
    if ops is not None and (not isinstance(ops, list) or "verify" not in ops):
        problems.append(Problem(f"{where}.key_ops", "a signature key allows 'verify'"))
    if kid is not None and (not isinstance(kid, str) or not kid):
        problems.append(Problem(f"{where}.kid", "expected a non-empty string"))
    if alg is not None and (alg not in _KEY_KINDS or _KEY_KINDS[alg][0] != kty):
        problems.append(Problem(f"{where}.alg", f"expected one of {', '.join(ALGORITHMS)} that fits the key"))
    crv = jwk.get("crv")
    try:
        public: Any
        if kty == "EC":
            if crv not in _EC_SIZES:
                problems.append(Problem(f"{where}.crv", "expected P-256 or P-384"))
                return None
            size = _EC_SIZES[crv]
            x, y = _b64url(jwk.get("x")), _b64url(jwk.get("y"))
            if len(x) != size or len(y) != size:
                raise ValueError("x and y do not fit the curve")
            curve = ec.SECP256R1() if crv == "P-256" else ec.SECP384R1()
            public = ec.EllipticCurvePublicNumbers(
                int.from_bytes(x, "big"), int.from_bytes(y, "big"), curve
            ).public_key()
        elif kty == "OKP":
            if crv != "Ed25519":
                problems.append(Problem(f"{where}.crv", "expected Ed25519"))
                return None
            public = ed25519.Ed25519PublicKey.from_public_bytes(_b64url(jwk.get("x")))
        else:
            n, e = int.from_bytes(_b64url(jwk.get("n")), "big"), int.from_bytes(_b64url(jwk.get("e")), "big")
            if n.bit_length() < MIN_RSA_BITS:
                problems.append(Problem(f"{where}.n", f"an RSA key has at least {MIN_RSA_BITS} bits"))
                return None
            public = rsa.RSAPublicNumbers(e, n).public_key()
            crv = None
    except ValueError:
        problems.append(Problem(where, "is not a valid public key of its kind"))
        return None
    if alg in _KEY_KINDS and _KEY_KINDS[alg][1] not in (None, crv):
        problems.append(Problem(f"{where}.alg", "does not fit the key's curve"))
    if len(problems) > reported:
        return None
    return _Key(kty=kty, crv=crv if isinstance(crv, str) else None, kid=kid, alg=alg, public=public)


@attrs.frozen
class PartyKeys:
    """The public keys an organisation configured per partner, by party id."""

    keys: Mapping[str, tuple[_Key, ...]]

    @classmethod
    def from_mapping(cls, data: Any) -> PartyKeys:
        """Read ``{"<party-id>": [JWK, ...]}``; raises :class:`KeyFileError` listing every problem."""
        if not isinstance(data, Mapping):
            raise KeyFileError([Problem("", 'expected an object {"<party-id>": [public JWK, ...]}')])
        problems: list[Problem] = []
        keys: dict[str, tuple[_Key, ...]] = {}
        for party_id, jwks in data.items():
            if not isinstance(party_id, str) or not party_id:
                problems.append(Problem("", "a party id is a non-empty string"))
                continue
            if not isinstance(jwks, list) or not jwks:
                problems.append(Problem(party_id, "expected a non-empty list of public keys (JWK)"))
                continue
            found: list[_Key] = []
            for index, jwk in enumerate(jwks):
                where = f"{party_id}[{index}]"
                if not isinstance(jwk, Mapping):
                    problems.append(Problem(where, "a key is a JWK object"))
                    continue
                key = _public_key(jwk, where, problems)
                if key is not None:
                    if key.kid is not None and any(k.kid == key.kid for k in found):
                        problems.append(Problem(f"{where}.kid", "another key of this party has the same kid"))
                    found.append(key)
            keys[party_id] = tuple(found)
        if problems:
            raise KeyFileError(problems)
        return cls(keys)

    def of(self, party_id: str) -> tuple[_Key, ...]:
        """The keys configured for ``party_id`` (none when it has none)."""
        return self.keys.get(party_id, ())

    def __contains__(self, party_id: object) -> bool:
        return bool(self.keys.get(party_id)) if isinstance(party_id, str) else False


# --- signing -------------------------------------------------------------------------------------


def _private_key(jwk: Mapping[str, Any]) -> tuple[Any, str, str | None]:
    """The ``cryptography`` private key of a JWK, its ``kty`` and its curve."""
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

    kty, crv = jwk.get("kty"), jwk.get("crv")
    d = _b64url(jwk.get("d"))
    if kty == "EC" and crv in _EC_SIZES:
        curve = ec.SECP256R1() if crv == "P-256" else ec.SECP384R1()
        return ec.derive_private_key(int.from_bytes(d, "big"), curve), kty, crv
    if kty == "OKP" and crv == "Ed25519":
        return ed25519.Ed25519PrivateKey.from_private_bytes(d), kty, crv
    if kty == "RSA":
        n, e = int.from_bytes(_b64url(jwk.get("n")), "big"), int.from_bytes(_b64url(jwk.get("e")), "big")
        d_int = int.from_bytes(d, "big")
        p, q = rsa.rsa_recover_prime_factors(n, e, d_int)
        numbers = rsa.RSAPrivateNumbers(
            p,
            q,
            d_int,
            rsa.rsa_crt_dmp1(d_int, p),
            rsa.rsa_crt_dmq1(d_int, q),
            rsa.rsa_crt_iqmp(p, q),
            rsa.RSAPublicNumbers(e, n),
        )
        return numbers.private_key(), kty, None
    raise ValueError("expected a private EC (P-256, P-384), OKP (Ed25519) or RSA key as a JWK")


_DEFAULT_ALG: Final[dict[tuple[str, str | None], str]] = {
    ("EC", "P-256"): "ES256",
    ("EC", "P-384"): "ES384",
    ("OKP", "Ed25519"): "EdDSA",
}


def _hash(alg: str) -> Any:
    from cryptography.hazmat.primitives import hashes

    return hashes.SHA384() if alg == "ES384" else hashes.SHA256()


def sign_bundle(
    bundle: Mapping[str, Any],
    private_key_jwk: Mapping[str, Any],
    signer_party_id: str,
    when: datetime,
    *,
    alg: str | None = None,
) -> dict[str, Any]:
    """Return a copy of ``bundle`` with a ``Bundle.signature`` by ``signer_party_id`` at ``when``.

    For partners (and tests): the key is a private JWK (EC P-256 or P-384, Ed25519, RSA); the
    algorithm follows from it (RSA signs with PS256 unless ``alg="RS256"``). A ``kid`` in the JWK
    is carried in the JWS header so the receiver picks the right key.
    """
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, padding, utils

    key, kty, crv = _private_key(private_key_jwk)
    chosen = alg or _DEFAULT_ALG.get((kty, crv), "PS256")
    if chosen not in _KEY_KINDS or _KEY_KINDS[chosen][0] != kty or _KEY_KINDS[chosen][1] not in (None, crv):
        raise ValueError("alg: does not fit the key")
    header: dict[str, str] = {"alg": chosen}
    kid = private_key_jwk.get("kid")
    if isinstance(kid, str) and kid:
        header["kid"] = kid
    protected = _b64url_encode(json.dumps(header, separators=(",", ":")).encode("utf-8"))
    unsigned = {k: v for k, v in bundle.items() if k != "signature"}
    signing_input = f"{protected}.{_b64url_encode(canonical_json(unsigned))}".encode("ascii")
    if chosen == "EdDSA":
        raw = key.sign(signing_input)
    elif chosen in ("ES256", "ES384"):
        r, s = utils.decode_dss_signature(key.sign(signing_input, ec.ECDSA(_hash(chosen))))
        size = _EC_SIZES["P-256" if chosen == "ES256" else "P-384"]
        raw = r.to_bytes(size, "big") + s.to_bytes(size, "big")
    elif chosen == "PS256":
        raw = key.sign(
            signing_input, padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32), hashes.SHA256()
        )
    else:
        raw = key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
    compact = f"{protected}..{_b64url_encode(raw)}"
    signed = dict(unsigned)
    signed["signature"] = {
        "type": [dict(SOURCE_SIGNATURE)],
        "when": _instant(when),
        "who": {"identifier": {"system": PARTY_ID, "value": signer_party_id}},
        "targetFormat": TARGET_FORMAT,
        "sigFormat": SIG_FORMAT,
        "data": base64.b64encode(compact.encode("ascii")).decode("ascii"),
    }
    return signed


# --- verifying -----------------------------------------------------------------------------------

_AT = "Bundle.signature"


def _refuse(path: str, message: str) -> SignatureError:
    return SignatureError([Problem(f"{_AT}.{path}" if path else _AT, message)])


def _signer(bundle: Mapping[str, Any], who: Any) -> str:
    """The party id ``Signature.who`` names: its identifier, or that of the entry it refers to."""
    if isinstance(who, Mapping):
        identifier = who.get("identifier")
        if identifier is None and isinstance(who.get("reference"), str):
            for entry in bundle.get("entry") or ():
                if isinstance(entry, Mapping) and entry.get("fullUrl") == who["reference"]:
                    resource = entry.get("resource")
                    found = resource.get("identifier") if isinstance(resource, Mapping) else None
                    for item in found if isinstance(found, list) else ():
                        if isinstance(item, Mapping) and item.get("system") == PARTY_ID:
                            identifier = item
                            break
                    break
        if isinstance(identifier, Mapping) and identifier.get("system") == PARTY_ID:
            value = identifier.get("value")
            if isinstance(value, str) and value:
                return value
    raise _refuse("who", "must name the signing party by its party-id identifier")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    names = [name for name, _ in pairs]
    if len(set(names)) != len(names):
        raise ValueError("a header member appears twice")
    return dict(pairs)


def _jws(data: Any) -> tuple[dict[str, Any], str, bytes]:
    """The header, the encoded header and the signature of a detached compact JWS in ``data``."""
    if not isinstance(data, str) or not data:
        raise _refuse("data", "must hold the signature (base64)")
    try:
        compact = base64.b64decode(data, validate=True).decode("ascii")
    except (binascii.Error, ValueError):
        raise _refuse("data", "is not base64 of a JWS in compact serialisation") from None
    parts = compact.split(".")
    if len(parts) != 3:
        raise _refuse("data", "is not a JWS in compact serialisation (header..signature)")
    protected, payload, signature = parts
    if payload:
        raise _refuse("data", "the JWS payload must be detached: the bundle itself is what is signed")
    try:
        header = json.loads(_b64url(protected), object_pairs_hook=_no_duplicates)
    except (ValueError, UnicodeDecodeError):
        raise _refuse("data", "the JWS header is not a JSON object") from None
    if not isinstance(header, dict):
        raise _refuse("data", "the JWS header is not a JSON object")
    try:
        raw = _b64url(signature)
    except ValueError:
        raise _refuse("data", "the JWS signature is not base64url") from None
    return header, protected, raw


def _check_header(header: Mapping[str, Any]) -> str:
    alg = header.get("alg")
    if alg not in _KEY_KINDS:
        raise _refuse("data", f"the JWS algorithm is not accepted (only {', '.join(ALGORITHMS)})")
    for name in _KEY_HEADERS:
        if name in header:
            raise _refuse(
                "data", f"the JWS header '{name}' is not accepted: keys come only from the configuration"
            )
    if "crit" in header:
        raise _refuse("data", "the JWS header has critical extensions ('crit') that are not understood")
    if "b64" in header:
        raise _refuse("data", "an unencoded payload ('b64') is not accepted")
    kid = header.get("kid")
    if kid is not None and not isinstance(kid, str):
        raise _refuse("data", "the JWS 'kid' is not a string")
    return str(alg)


def _verifies(key: _Key, alg: str, signing_input: bytes, raw: bytes) -> bool:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, padding, utils

    try:
        if alg == "EdDSA":
            key.public.verify(raw, signing_input)
        elif alg in ("ES256", "ES384"):
            size = _EC_SIZES["P-256" if alg == "ES256" else "P-384"]
            if len(raw) != 2 * size:
                return False
            der = utils.encode_dss_signature(
                int.from_bytes(raw[:size], "big"), int.from_bytes(raw[size:], "big")
            )
            key.public.verify(der, signing_input, ec.ECDSA(_hash(alg)))
        elif alg == "PS256":
            key.public.verify(
                raw,
                signing_input,
                padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32),
                hashes.SHA256(),
            )
        else:
            key.public.verify(raw, signing_input, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return False
    return True


def _candidates(keys: Sequence[_Key], alg: str, kid: str | None) -> Iterator[_Key]:
    for key in keys:
        if key.fits(alg) and (kid is None or key.kid in (None, kid)):
            yield key


def verify_bundle(
    bundle: Mapping[str, Any],
    keys: PartyKeys,
    *,
    not_before: datetime | None = None,
    not_after: datetime | None = None,
) -> str:
    """Verify ``Bundle.signature`` against the configured ``keys``; return the signing party's id.

    ``when`` must lie within ``not_before``..``not_after`` (when given). Raises
    :class:`SignatureError` (located at ``Bundle.signature...``, never repeating a value) when
    the bundle is unsigned, the signature is not of the accepted form or does not verify with any
    of the signing party's keys; :class:`UnknownSignerError` when no key is configured for it.
    """
    signature = bundle.get("signature")
    if signature is None:
        raise _refuse("", "the bundle is not signed")
    if not isinstance(signature, Mapping):
        raise _refuse("", "a Bundle.signature is one Signature object")
    if signature.get("sigFormat") != SIG_FORMAT:
        raise _refuse("sigFormat", f"only {SIG_FORMAT} (a JWS) is verified")
    target = signature.get("targetFormat")
    if target is not None:
        kind, _, parameters = str(target).partition(";")
        canon = parameters.strip()
        if kind.strip() != "application/fhir+json" or canon not in (
            "",
            f"canonicalization={CANONICALIZATION}",
        ):
            raise _refuse("targetFormat", f"only application/fhir+json canonicalised as {CANONICALIZATION}")
    party_id = _signer(bundle, signature.get("who"))
    try:
        when = parse_instant(signature.get("when"))
    except ValueError as error:
        raise _refuse("when", str(error)) from None
    if not_after is not None and when > not_after:
        raise _refuse("when", "is later than now (beyond the allowed clock skew)")
    if not_before is not None and when < not_before:
        raise _refuse("when", "is before the case was opened")
    configured = keys.of(party_id)
    if not configured:
        raise UnknownSignerError([Problem(f"{_AT}.who", "no key is configured for the signing party")])
    header, protected, raw = _jws(signature.get("data"))
    alg = _check_header(header)
    try:
        payload = canonical_json(bundle)
    except ValueError as error:
        raise SignatureError([Problem("Bundle", f"cannot be canonicalised: {error}")]) from None
    signing_input = f"{protected}.{_b64url_encode(payload)}".encode("ascii")
    kid = header.get("kid")
    for key in _candidates(configured, alg, kid if isinstance(kid, str) else None):
        if _verifies(key, alg, signing_input, raw):
            return party_id
    raise _refuse("data", "does not verify with any key configured for the signing party")
