"""Bundle.signature: a partner signs its bundle (JWS, detached, over canonical JSON); merge verifies it."""

from __future__ import annotations

import base64
import copy
import functools
import hashlib
import hmac
import json
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from factories import run_cli as run
from ketenzorg import Case, Engine, IncidentReported, ScoreGiven, caseformat
from ketenzorg.demo import P_CLIENT, P_GGZ, P_POLICE, walk
from ketenzorg.interop.decimals import ExactDecimal
from ketenzorg.interop.definitions import CASE_ID, PARTY_ID
from ketenzorg.interop.merge import MergeRefusedError, SenderUnknownError, merge_bundle
from ketenzorg.interop.signature import (
    KeyFileError,
    PartyKeys,
    SignatureError,
    canonical_json,
    parse_instant,
    sign_bundle,
    verify_bundle,
)
from ketenzorg.interop.terminology import code_system

NOW = datetime(2026, 3, 21, 12, 0, tzinfo=timezone(timedelta(hours=1)))
SIGNED_AT = datetime(2026, 3, 20, 11, 0, tzinfo=timezone(timedelta(hours=1)))


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _int(value: int, size: int | None = None) -> str:
    return b64url(value.to_bytes(size or (value.bit_length() + 7) // 8, "big"))


@functools.cache
def ec_key(curve: str = "P-256", kid: str | None = None, seed: int = 0) -> dict[str, Any]:
    """A private EC JWK (a fresh key per (curve, kid, seed))."""
    key = ec.generate_private_key(ec.SECP256R1() if curve == "P-256" else ec.SECP384R1())
    size = 32 if curve == "P-256" else 48
    numbers = key.private_numbers()
    jwk = {
        "kty": "EC",
        "crv": curve,
        "x": _int(numbers.public_numbers.x, size),
        "y": _int(numbers.public_numbers.y, size),
        "d": _int(numbers.private_value, size),
    }
    if kid:
        jwk["kid"] = kid
    return jwk


@functools.cache
def ed_key(seed: int = 0) -> dict[str, Any]:
    key = ed25519.Ed25519PrivateKey.generate()
    from cryptography.hazmat.primitives.serialization import NoEncryption, PrivateFormat

    private = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    public = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return {"kty": "OKP", "crv": "Ed25519", "x": b64url(public), "d": b64url(private)}


@functools.cache
def rsa_key(bits: int = 2048) -> dict[str, Any]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    numbers = key.private_numbers()
    return {
        "kty": "RSA",
        "n": _int(numbers.public_numbers.n),
        "e": _int(numbers.public_numbers.e),
        "d": _int(numbers.d),
    }


def public(jwk: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in jwk.items() if k not in ("d", "p", "q", "dp", "dq", "qi")}


@functools.cache
def _steps() -> list[Any]:
    return walk()


@pytest.fixture
def case() -> Case:
    found: Case = _steps()[3].case
    return found


def engine() -> Engine:
    return Engine(clock=lambda: NOW)


def score(value: int = 4, *, party: str = P_POLICE.id, ident: str = "obs-1") -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "identifier": [{"system": "https://politie.example.org/obs", "value": ident}],
        "status": "final",
        "code": {"coding": [{"system": code_system("observation-kind"), "code": "safety-score"}]},
        "basedOn": [{"identifier": {"system": CASE_ID, "value": _steps()[3].case.case_id}}],
        "performer": [{"identifier": {"system": PARTY_ID, "value": party}}],
        "effectiveDateTime": "2026-03-20T10:00:00+01:00",
        "valueInteger": value,
        "note": [{"text": "Contactverbod nageleefd (synthetisch)."}],
    }


def incident() -> dict[str, Any]:
    kind = code_system("observation-kind")
    return {
        "resourceType": "Observation",
        "identifier": [{"system": "https://politie.example.org/obs", "value": "inc-1"}],
        "status": "final",
        "code": {"coding": [{"system": kind, "code": "incident"}]},
        "basedOn": [{"identifier": {"system": CASE_ID, "value": _steps()[3].case.case_id}}],
        "effectiveDateTime": "2026-03-19T22:00:00+01:00",
        "valueCodeableConcept": {"coding": [{"system": code_system("incident-severity"), "code": "minor"}]},
        "component": [
            {"code": {"coding": [{"system": kind, "code": "incident-acute"}]}, "valueBoolean": False}
        ],
        "note": [{"text": "Partner belt aan (synthetisch)."}],
    }


def partner_bundle() -> dict[str, Any]:
    police = {
        "resourceType": "Organization",
        "identifier": [{"system": PARTY_ID, "value": P_POLICE.id}],
        "name": "Politie basisteam Demo",
    }
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"fullUrl": f"urn:uuid:5e1f0000-0000-4000-8000-{n:012d}", "resource": r}
            for n, r in enumerate([score(), incident(), police])
        ],
    }


def keys(**by_party: list[dict[str, Any]]) -> PartyKeys:
    return PartyKeys.from_mapping({party: [public(k) for k in jwks] for party, jwks in by_party.items()})


POLICE_KEYS = {P_POLICE.id: [ec_key()]}


def signed(
    key: dict[str, Any] | None = None, party: str = P_POLICE.id, when: datetime = SIGNED_AT, **kwargs: Any
) -> dict[str, Any]:
    return sign_bundle(partner_bundle(), key or ec_key(), party, when, **kwargs)


def sig_refused(bundle: dict[str, Any], party_keys: PartyKeys, **bounds: Any) -> list[str]:
    with pytest.raises(SignatureError) as caught:
        verify_bundle(bundle, party_keys, **bounds)
    return [p.path for p in caught.value.problems]


# --- signing and verifying -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "alg", "expected"),
    [
        (lambda: ec_key(), None, "ES256"),
        (lambda: ec_key("P-384"), None, "ES384"),
        (lambda: ed_key(), None, "EdDSA"),
        (lambda: rsa_key(), None, "PS256"),
        (lambda: rsa_key(), "RS256", "RS256"),
    ],
    ids=["ES256", "ES384", "EdDSA", "PS256", "RS256"],
)
def test_a_valid_signature_verifies(
    key: Callable[[], dict[str, Any]], alg: str | None, expected: str
) -> None:
    bundle = signed(key(), alg=alg)
    assert verify_bundle(bundle, PartyKeys.from_mapping({P_POLICE.id: [public(key())]})) == P_POLICE.id
    header = json.loads(base64.urlsafe_b64decode(_jws(bundle)[0] + "=="))
    assert header == {"alg": expected}


def test_the_signature_element_follows_r4() -> None:
    signature = signed()["signature"]
    assert signature["sigFormat"] == "application/jose"
    assert signature["targetFormat"] == (
        "application/fhir+json;canonicalization=http://hl7.org/fhir/canonicalization/json"
    )
    assert signature["who"] == {"identifier": {"system": PARTY_ID, "value": P_POLICE.id}}
    assert signature["when"] == "2026-03-20T11:00:00+01:00"
    assert signature["type"][0]["system"] == "urn:iso-astm:E1762-95:2013"
    _, payload, _ = _jws(signed())
    assert payload == ""  # detached
    assert parse_instant(signature["when"]) == SIGNED_AT


def _jws(bundle: dict[str, Any]) -> list[str]:
    return base64.b64decode(bundle["signature"]["data"]).decode("ascii").split(".")


def _with_jws(bundle: dict[str, Any], header: dict[str, Any], signature: bytes) -> dict[str, Any]:
    out = copy.deepcopy(bundle)
    compact = f"{b64url(json.dumps(header).encode())}..{b64url(signature)}"
    out["signature"]["data"] = base64.b64encode(compact.encode()).decode()
    return out


def _mutations() -> list[Any]:
    """One changed byte in each resource of the bundle, and in the bundle itself."""

    def note(b: dict[str, Any]) -> None:
        text = b["entry"][0]["resource"]["note"][0]["text"]
        b["entry"][0]["resource"]["note"][0]["text"] = text[:-1] + "!"

    def value(b: dict[str, Any]) -> None:
        b["entry"][0]["resource"]["valueInteger"] = 5

    def incident_time(b: dict[str, Any]) -> None:
        b["entry"][1]["resource"]["effectiveDateTime"] = "2026-03-19T22:00:01+01:00"

    def organisation(b: dict[str, Any]) -> None:
        b["entry"][2]["resource"]["name"] = "Politie basisteam Demp"

    def bundle_type(b: dict[str, Any]) -> None:
        b["type"] = "transaction"

    def full_url(b: dict[str, Any]) -> None:
        b["entry"][1]["fullUrl"] = b["entry"][1]["fullUrl"][:-1] + "9"

    def added(b: dict[str, Any]) -> None:
        b["entry"][1]["resource"]["status"] = "amended"

    def removed(b: dict[str, Any]) -> None:
        del b["entry"][2]["resource"]["name"]

    return [note, value, incident_time, organisation, bundle_type, full_url, added, removed]


@pytest.mark.parametrize("change", _mutations(), ids=lambda f: f.__name__)
def test_one_changed_byte_anywhere_refuses(change: Callable[[dict[str, Any]], None]) -> None:
    bundle = signed()
    party_keys = keys(**{P_POLICE.id: [ec_key()]})
    assert verify_bundle(bundle, party_keys) == P_POLICE.id
    change(bundle)
    assert sig_refused(bundle, party_keys) == ["Bundle.signature.data"]


def test_whitespace_and_member_order_do_not_matter() -> None:
    bundle = signed()
    reordered = json.loads(json.dumps(bundle, indent=3, sort_keys=True)[::1])
    reordered["entry"][0]["resource"] = dict(reversed(list(reordered["entry"][0]["resource"].items())))
    assert verify_bundle(reordered, keys(**{P_POLICE.id: [ec_key()]})) == P_POLICE.id


def test_a_signature_by_party_a_presented_as_from_b_refuses() -> None:
    bundle = signed(ec_key(), party=P_GGZ.id)  # the police's key, but "who" says GGZ
    both = keys(**{P_POLICE.id: [ec_key()], P_GGZ.id: [ec_key(seed=1)]})
    assert sig_refused(bundle, both) == ["Bundle.signature.data"]


def test_a_key_configured_for_another_party_refuses() -> None:
    bundle = signed(ec_key(), party=P_POLICE.id)
    # the police's public key is configured, but for the GGZ; the police has another key
    crossed = keys(**{P_GGZ.id: [ec_key()], P_POLICE.id: [ec_key(seed=1)]})
    assert sig_refused(bundle, crossed) == ["Bundle.signature.data"]
    # and a party without configured keys cannot be verified at all
    assert sig_refused(bundle, keys(**{P_GGZ.id: [ec_key()]})) == ["Bundle.signature.who"]


def test_alg_none_refuses() -> None:
    bundle = _with_jws(signed(), {"alg": "none"}, b"")
    assert sig_refused(bundle, keys(**POLICE_KEYS)) == ["Bundle.signature.data"]


@pytest.mark.parametrize("secret", ["json", "pem", "x"])
def test_hs256_with_the_public_key_as_secret_refuses(secret: str) -> None:
    jwk = public(ec_key())
    material = {
        "json": json.dumps(jwk).encode(),
        "pem": PartyKeys.from_mapping({"p": [jwk]})
        .of("p")[0]
        .public.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo),
        "x": base64.urlsafe_b64decode(jwk["x"] + "=="),
    }[secret]
    bundle = signed()
    header = {"alg": "HS256"}
    protected = b64url(json.dumps(header).encode())
    payload = b64url(canonical_json(bundle))
    mac = hmac.new(material, f"{protected}.{payload}".encode(), hashlib.sha256).digest()
    forged = _with_jws(bundle, header, mac)
    assert sig_refused(forged, keys(**POLICE_KEYS)) == ["Bundle.signature.data"]


@pytest.mark.parametrize("alg", ["HS512", "ES512", "RS384", "ESxyz", 7])
def test_an_unknown_algorithm_refuses(alg: Any) -> None:
    bundle = signed()
    original = _jws(bundle)
    forged = _with_jws(bundle, {"alg": alg}, base64.urlsafe_b64decode(original[2] + "=="))
    assert sig_refused(forged, keys(**POLICE_KEYS)) == ["Bundle.signature.data"]


@pytest.mark.parametrize(
    "extra",
    [
        {"jku": "https://aanvaller.example.org/keys.json"},
        {"x5u": "https://aanvaller.example.org/cert.pem"},
        {"jwk": {"kty": "EC"}},
        {"x5c": ["MIIB"]},
        {"crit": ["exp"], "exp": 1},
        {"b64": False, "crit": ["b64"]},
        {"b64": True},
    ],
    ids=["jku", "x5u", "jwk", "x5c", "crit", "b64-crit", "b64"],
)
def test_headers_that_bring_keys_or_unknown_rules_refuse(extra: dict[str, Any]) -> None:
    """Even with a signature that verifies with the configured key: the header itself is refused."""
    bundle = signed()
    forged = _signed_with_header(bundle, ec_key(), {"alg": "ES256", **extra})
    assert sig_refused(forged, keys(**POLICE_KEYS)) == ["Bundle.signature.data"]
    # the same signing without the extra members verifies: the refusal is the header's
    assert verify_bundle(_signed_with_header(bundle, ec_key(), {"alg": "ES256"}), keys(**POLICE_KEYS))


def _signed_with_header(
    bundle: dict[str, Any], jwk: dict[str, Any], header: dict[str, Any]
) -> dict[str, Any]:
    """``bundle`` signed (ES256) with ``jwk`` under exactly ``header``."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

    key = ec.derive_private_key(
        int.from_bytes(base64.urlsafe_b64decode(jwk["d"] + "=="), "big"), ec.SECP256R1()
    )
    protected = b64url(json.dumps(header).encode())
    signing_input = f"{protected}.{b64url(canonical_json(bundle))}".encode()
    r, s = decode_dss_signature(key.sign(signing_input, ec.ECDSA(hashes.SHA256())))
    return _with_jws(bundle, header, r.to_bytes(32, "big") + s.to_bytes(32, "big"))


def test_a_kid_picks_the_key() -> None:
    first, second = ec_key(kid="2025"), ec_key(kid="2026")
    party_keys = keys(**{P_POLICE.id: [first, second]})
    assert verify_bundle(signed(second), party_keys) == P_POLICE.id
    assert verify_bundle(_signed_with_header(signed(), second, {"alg": "ES256"}), party_keys) == P_POLICE.id
    # signed with the 2026 key, but the header names the 2025 key: only that key is tried
    named_other = _signed_with_header(signed(), second, {"alg": "ES256", "kid": "2025"})
    assert sig_refused(named_other, party_keys) == ["Bundle.signature.data"]


@pytest.mark.parametrize(
    ("change", "where"),
    [
        (lambda s: s.update(data="not base64!"), "data"),
        (lambda s: s.update(data=base64.b64encode(b"a.b").decode()), "data"),
        (lambda s: s.update(data=base64.b64encode(b"e30.cGF5bG9hZA.c2ln").decode()), "data"),
        (lambda s: s.update(data=base64.b64encode(b"bm90IGpzb24..c2ln").decode()), "data"),
        (
            lambda s: s.update(data=base64.b64encode(b"eyJhbGciOiJFUzI1NiIsImFsZyI6ImVzIn0..c2ln").decode()),
            "data",
        ),
        (lambda s: s.pop("data"), "data"),
        (lambda s: s.update(sigFormat="application/signature+xml"), "sigFormat"),
        (lambda s: s.update(targetFormat="application/fhir+xml"), "targetFormat"),
        (
            lambda s: s.update(targetFormat="application/fhir+json;canonicalization=http://x.example/c"),
            "targetFormat",
        ),
        (lambda s: s.update(who={"display": "Politie"}), "who"),
        (lambda s: s.update(who={"identifier": {"system": "urn:x", "value": P_POLICE.id}}), "who"),
        (lambda s: s.update(when="2026-03-20"), "when"),
        (lambda s: s.update(when="2026-W12-5T10:00:00Z"), "when"),
    ],
    ids=[
        "not-base64",
        "two-parts",
        "attached-payload",
        "header-not-json",
        "duplicate-header-member",
        "no-data",
        "xml-dsig",
        "xml-target",
        "other-canonicalisation",
        "who-without-identifier",
        "who-other-system",
        "when-a-date",
        "when-a-week-date",
    ],
)
def test_a_malformed_signature_refuses_with_its_location(
    change: Callable[[dict[str, Any]], Any], where: str
) -> None:
    bundle = signed()
    change(bundle["signature"])
    assert sig_refused(bundle, keys(**POLICE_KEYS)) == [f"Bundle.signature.{where}"]


def test_an_es256_signature_of_the_wrong_length_refuses() -> None:
    bundle = signed()
    _, _, signature = _jws(bundle)
    forged = _with_jws(bundle, {"alg": "ES256"}, base64.urlsafe_b64decode(signature + "==")[:-1])
    assert sig_refused(forged, keys(**POLICE_KEYS)) == ["Bundle.signature.data"]


def test_who_may_refer_to_the_partner_s_organisation_entry() -> None:
    bundle = signed()
    bundle["signature"]["who"] = {"reference": bundle["entry"][2]["fullUrl"]}
    assert verify_bundle(bundle, keys(**POLICE_KEYS)) == P_POLICE.id


@pytest.mark.parametrize(
    ("when", "expected"),
    [(NOW + timedelta(hours=1), "later than now"), (datetime(2025, 1, 1, tzinfo=UTC), "before")],
    ids=["future", "expired"],
)
def test_a_when_outside_the_bounds_refuses(when: datetime, expected: str) -> None:
    bundle = signed(when=when)
    with pytest.raises(SignatureError) as caught:
        verify_bundle(
            bundle,
            keys(**POLICE_KEYS),
            not_before=datetime(2026, 1, 1, tzinfo=UTC),
            not_after=NOW + timedelta(minutes=5),
        )
    assert [p.path for p in caught.value.problems] == ["Bundle.signature.when"]
    assert expected in str(caught.value)


# --- canonical JSON ------------------------------------------------------------------------------


def test_canonical_json_has_no_whitespace_sorted_members_and_no_signature() -> None:
    bundle = {
        "type": "collection",
        "resourceType": "Bundle",
        "signature": {"data": "x"},
        "entry": [{"resource": {"resourceType": "Basic", "id": "b 1", "text": {"div": "<div>a  b</div>"}}}],
    }
    assert canonical_json(bundle) == (
        b'{"entry":[{"resource":{"id":"b 1","resourceType":"Basic","text":{"div":"<div>a  b</div>"}}}],'
        b'"resourceType":"Bundle","type":"collection"}'
    )


def test_canonical_json_strings_follow_rfc_8785() -> None:
    # RFC 8785 section 3.2.2.2: the string of its example, and its literals
    value = {"string": "\u20ac$\u000f\u000aA'\u0042\u0022\u005c\\\"/", "literals": [None, True, False]}
    assert (
        canonical_json(value)
        == '{"literals":[null,true,false],"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}'.encode()
    )


def test_canonical_json_sorts_by_utf16_code_units() -> None:
    # RFC 8785 section 3.2.3: an astral character sorts before U+FB33 (UTF-16 surrogates)
    names = ["\u20ac", "\r", "\ufb33", "1", "\U0001f600", "\u0080", "\u00f6"]
    text = canonical_json(dict.fromkeys(names, 0)).decode()
    order = [json.loads("{" + part + "}") for part in text[1:-1].split(",")]
    assert [next(iter(o)) for o in order] == ["\r", "1", "\u0080", "\u00f6", "\u20ac", "\U0001f600", "\ufb33"]


def test_canonical_json_keeps_a_decimal_as_written() -> None:
    assert (
        canonical_json({"v": ExactDecimal("1.50"), "w": Decimal("2"), "n": -3}) == b'{"n":-3,"v":1.50,"w":2}'
    )


@pytest.mark.parametrize("bad", ["\ud800", float("nan"), object()], ids=["lone-surrogate", "nan", "object"])
def test_what_has_no_canonical_form_is_refused(bad: Any) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 (the message describes, never quotes)
        canonical_json({"resourceType": "Basic", "x": bad})


# --- the keys file -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "where"),
    [
        ([], ""),
        ({P_POLICE.id: {}}, P_POLICE.id),
        ({P_POLICE.id: []}, P_POLICE.id),
        ({P_POLICE.id: ["x"]}, f"{P_POLICE.id}[0]"),
        ({P_POLICE.id: [{"kty": "oct", "k": "c2VjcmV0"}]}, f"{P_POLICE.id}[0].kty"),
        ({P_POLICE.id: [{"kty": "XYZ"}]}, f"{P_POLICE.id}[0].kty"),
        ({P_POLICE.id: [ec_key()]}, f"{P_POLICE.id}[0].d"),
        ({P_POLICE.id: [public(ec_key()) | {"crv": "P-521"}]}, f"{P_POLICE.id}[0].crv"),
        ({P_POLICE.id: [public(ec_key()) | {"x": public(ec_key("P-384"))["x"]}]}, f"{P_POLICE.id}[0]"),
        ({P_POLICE.id: [public(ec_key()) | {"y": public(ec_key(seed=3))["y"]}]}, f"{P_POLICE.id}[0]"),
        ({P_POLICE.id: [public(ec_key()) | {"use": "enc"}]}, f"{P_POLICE.id}[0].use"),
        ({P_POLICE.id: [public(ec_key()) | {"key_ops": ["sign"]}]}, f"{P_POLICE.id}[0].key_ops"),
        ({P_POLICE.id: [public(ec_key()) | {"alg": "HS256"}]}, f"{P_POLICE.id}[0].alg"),
        ({P_POLICE.id: [public(ec_key()) | {"alg": "ES384"}]}, f"{P_POLICE.id}[0].alg"),
        ({P_POLICE.id: [public(ed_key()) | {"crv": "X25519"}]}, f"{P_POLICE.id}[0].crv"),
        ({P_POLICE.id: [public(ed_key()) | {"x": "AAAA"}]}, f"{P_POLICE.id}[0]"),
        ({P_POLICE.id: [public(rsa_key(1024))]}, f"{P_POLICE.id}[0].n"),
        ({P_POLICE.id: [public(ec_key(kid="a")), public(ec_key("P-384", kid="a"))]}, f"{P_POLICE.id}[1].kid"),
        ({"": [public(ec_key())]}, ""),
    ],
    ids=[
        "not-an-object",
        "not-a-list",
        "empty",
        "not-a-jwk",
        "symmetric",
        "unknown-kty",
        "private-key",
        "unknown-curve",
        "x-of-another-curve",
        "not-on-the-curve",
        "use-enc",
        "sign-only",
        "hmac-alg",
        "alg-of-another-curve",
        "x25519",
        "short-ed25519",
        "rsa-1024",
        "duplicate-kid",
        "empty-party-id",
    ],
)
def test_a_bad_keys_file_is_refused_with_locations(data: Any, where: str) -> None:
    with pytest.raises(KeyFileError) as caught:
        PartyKeys.from_mapping(data)
    assert [p.path for p in caught.value.problems] == [where]
    assert "AAAA" not in str(caught.value)


def test_a_good_keys_file() -> None:
    party_keys = PartyKeys.from_mapping(
        {
            P_POLICE.id: [public(ec_key()), public(ed_key()) | {"kid": "ed", "use": "sig"}],
            P_GGZ.id: [public(rsa_key())],
        }
    )
    assert len(party_keys.of(P_POLICE.id)) == 2
    assert P_GGZ.id in party_keys
    assert P_CLIENT.id not in party_keys
    assert party_keys.of(P_CLIENT.id) == ()


# --- merge with signatures -----------------------------------------------------------------------


def test_a_signed_bundle_names_its_sender(case: Case) -> None:
    new, _ = merge_bundle(engine(), case, signed(), keys=keys(**POLICE_KEYS))
    added = new.events[len(case.events) :]
    assert [type(e) for e in added] == [ScoreGiven, IncidentReported]
    assert isinstance(added[1], IncidentReported)
    assert added[1].reported_by == P_POLICE.id


def test_a_keys_mapping_is_read_as_a_keys_file(case: Case) -> None:
    new, _ = merge_bundle(engine(), case, signed(), keys={P_POLICE.id: [public(ec_key())]})
    assert len(new.events) == len(case.events) + 2


def test_a_signature_and_a_named_sender_must_agree(case: Case) -> None:
    both = keys(**{P_POLICE.id: [ec_key()], P_GGZ.id: [ec_key(seed=1)]})
    new, _ = merge_bundle(engine(), case, signed(), sender=P_POLICE.id, keys=both)
    assert len(new.events) == len(case.events) + 2
    with pytest.raises(MergeRefusedError) as caught:
        merge_bundle(engine(), case, signed(), sender=P_GGZ.id, keys=both)
    assert [p.path for p in caught.value.problems] == ["Bundle.signature.who"]


def test_an_unsigned_bundle_from_a_party_with_keys_is_refused(case: Case) -> None:
    with pytest.raises(MergeRefusedError) as caught:
        merge_bundle(engine(), case, partner_bundle(), sender=P_POLICE.id, keys=keys(**POLICE_KEYS))
    assert [p.path for p in caught.value.problems] == ["Bundle.signature"]
    # a party without configured keys may still send unsigned bundles, named by the organisation
    ggz = partner_bundle()
    ggz["entry"] = [
        {"fullUrl": "urn:uuid:5e1f0000-0000-4000-8000-000000000009", "resource": score(party=P_GGZ.id)}
    ]
    new, _ = merge_bundle(engine(), case, ggz, sender=P_GGZ.id, keys=keys(**POLICE_KEYS))
    assert len(new.events) == len(case.events) + 1


def test_a_badly_signed_bundle_is_refused(case: Case) -> None:
    bundle = signed()
    bundle["entry"][0]["resource"]["valueInteger"] = 9
    with pytest.raises(MergeRefusedError) as caught:
        merge_bundle(engine(), case, bundle, sender=P_POLICE.id, keys=keys(**POLICE_KEYS))
    assert [p.path for p in caught.value.problems] == ["Bundle.signature.data"]
    assert [i["code"] for i in caught.value.outcome["issue"]] == ["security"]


def test_a_signed_bundle_without_keys_and_without_a_sender_is_refused(case: Case) -> None:
    with pytest.raises(SenderUnknownError):
        merge_bundle(engine(), case, signed())


def test_a_signed_bundle_without_configured_keys_is_merged_with_a_warning(case: Case) -> None:
    new, outcome = merge_bundle(engine(), case, signed(), sender=P_POLICE.id)
    assert len(new.events) == len(case.events) + 2
    assert [(i["severity"], i["expression"]) for i in outcome["issue"]] == [("warning", ["Bundle.signature"])]


def test_a_signature_dated_after_now_is_refused_in_merge(case: Case) -> None:
    with pytest.raises(MergeRefusedError) as caught:
        merge_bundle(engine(), case, signed(when=NOW + timedelta(days=1)), keys=keys(**POLICE_KEYS))
    assert [p.path for p in caught.value.problems] == ["Bundle.signature.when"]


def test_a_signature_dated_before_the_case_opened_is_refused_in_merge(case: Case) -> None:
    early = datetime(2025, 12, 1, tzinfo=UTC)
    with pytest.raises(MergeRefusedError) as caught:
        merge_bundle(engine(), case, signed(when=early), keys=keys(**POLICE_KEYS))
    assert [p.path for p in caught.value.problems] == ["Bundle.signature.when"]


def test_a_signer_outside_the_care_team_is_refused(case: Case) -> None:
    stranger = "een-onbekende-partner"
    bundle = signed(ec_key(seed=2), party=stranger)
    with pytest.raises(MergeRefusedError) as caught:
        merge_bundle(engine(), case, bundle, keys=keys(**{stranger: [ec_key(seed=2)]}))
    assert [p.path for p in caught.value.problems] == ["Bundle.signature.who"]


def test_a_signed_bundle_still_speaks_only_for_its_signer(case: Case) -> None:
    bundle = sign_bundle(
        {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [
                {
                    "fullUrl": "urn:uuid:5e1f0000-0000-4000-8000-000000000001",
                    "resource": score(0, party=P_CLIENT.id),
                }
            ],
        },
        ec_key(),
        P_POLICE.id,
        SIGNED_AT,
    )
    with pytest.raises(MergeRefusedError) as caught:
        merge_bundle(engine(), case, bundle, keys=keys(**POLICE_KEYS))
    assert [p.path for p in caught.value.problems] == ["Bundle.entry[0].resource.performer[0]"]


# --- light imports and the command line ----------------------------------------------------------


def test_importing_the_engine_and_merge_does_not_import_cryptography() -> None:
    code = (
        "import sys, ketenzorg; import ketenzorg.interop.merge, ketenzorg.interop.signature;"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'cryptography'))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def _write(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_cli_sign_then_merge_with_keys(tmp_path: Path) -> None:
    case_path = tmp_path / "case.json"
    case_path.write_bytes(caseformat.dumps(_steps()[3].case))
    unsigned = _write(tmp_path / "partner.json", partner_bundle())
    private = _write(tmp_path / "politie.jwk", ed_key())
    key_file = _write(tmp_path / "keys.json", {P_POLICE.id: [public(ed_key())]})
    signed_path = tmp_path / "signed.json"
    signing = run(
        "sign", str(unsigned), "--key", str(private), "--as", P_POLICE.id, "--out", str(signed_path)
    )
    assert signing.returncode == 0, signing.stderr
    out = tmp_path / "new.json"
    merged = run("merge", str(case_path), str(signed_path), "--keys", str(key_file), "--out", str(out))
    assert merged.returncode == 0, merged.stderr
    assert "merged 2 event(s)" in merged.stdout
    # one changed byte: exit 1, the location on stderr, nothing written
    tampered = json.loads(signed_path.read_text(encoding="utf-8"))
    tampered["entry"][0]["resource"]["valueInteger"] = 9
    bad = _write(tmp_path / "tampered.json", tampered)
    refused = run(
        "merge", str(case_path), str(bad), "--keys", str(key_file), "--out", str(tmp_path / "x.json")
    )
    assert refused.returncode == 1
    assert "error [security] Bundle.signature.data" in refused.stderr
    assert not (tmp_path / "x.json").exists()
    # unsigned, from a party with keys: refused
    unsigned_run = run("merge", str(case_path), str(unsigned), "--keys", str(key_file), "--from", P_POLICE.id)
    assert unsigned_run.returncode == 1
    assert "Bundle.signature" in unsigned_run.stderr
    # unsigned, no --from: nobody is known to have sent it
    nobody = run("merge", str(case_path), str(unsigned), "--keys", str(key_file))
    assert nobody.returncode == 2
    assert "who sent the bundle is not known" in nobody.stderr


def test_cli_merge_with_a_bad_keys_file_exits_2(tmp_path: Path) -> None:
    case_path = tmp_path / "case.json"
    case_path.write_bytes(caseformat.dumps(_steps()[3].case))
    unsigned = _write(tmp_path / "partner.json", partner_bundle())
    key_file = _write(tmp_path / "keys.json", {P_POLICE.id: [ec_key()]})  # a private key
    result = run("merge", str(case_path), str(unsigned), "--keys", str(key_file))
    assert result.returncode == 2
    assert f"{key_file}: {P_POLICE.id}[0].d: holds private key material" in result.stderr
    assert ec_key()["d"] not in result.stderr


def test_cli_sign_with_a_public_key_exits_2(tmp_path: Path) -> None:
    unsigned = _write(tmp_path / "partner.json", partner_bundle())
    key_file = _write(tmp_path / "public.jwk", public(ec_key()))
    result = run("sign", str(unsigned), "--key", str(key_file), "--as", P_POLICE.id)
    assert result.returncode == 2
    assert str(key_file) in result.stderr
    assert result.stdout == ""


def test_a_signature_by_a_party_without_keys_leaves_the_named_sender_to_decide(case: Case) -> None:
    ggz = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"fullUrl": "urn:uuid:5e1f0000-0000-4000-8000-000000000001", "resource": score(party=P_GGZ.id)}
        ],
    }
    bundle = sign_bundle(ggz, ec_key(seed=4), P_GGZ.id, SIGNED_AT)
    new, outcome = merge_bundle(engine(), case, bundle, sender=P_GGZ.id, keys=keys(**POLICE_KEYS))
    assert len(new.events) == len(case.events) + 1
    assert [(i["severity"], i["expression"]) for i in outcome["issue"]] == [
        ("warning", ["Bundle.signature.who"])
    ]
    # without a named sender, an unverifiable signature names nobody
    with pytest.raises(MergeRefusedError) as caught:
        merge_bundle(engine(), case, bundle, keys=keys(**POLICE_KEYS))
    assert [p.path for p in caught.value.problems] == ["Bundle.signature.who"]
    # and it never stands in for the signature a party with keys must give
    as_police = sign_bundle(partner_bundle(), ec_key(seed=4), P_GGZ.id, SIGNED_AT)
    with pytest.raises(MergeRefusedError) as caught:
        merge_bundle(engine(), case, as_police, sender=P_POLICE.id, keys=keys(**POLICE_KEYS))
    assert [p.path for p in caught.value.problems] == ["Bundle.signature"]
