"""What each kind of party may send about a case (the input side of the profiles)."""

from __future__ import annotations

from ketenzorg.disclosure.profiles import CATEGORIES
from ketenzorg.disclosure.senders import may_send, sender_kind, shipped_senders
from ketenzorg.domain import PartnerType, Party, PartyRole


def test_every_kind_of_party_has_its_list() -> None:
    kinds = {r.value for r in PartyRole if r is not PartyRole.CHAIN_PARTNER} | {t.value for t in PartnerType}
    assert set(shipped_senders()) == kinds
    assert all(categories <= set(CATEGORIES) for categories in shipped_senders().values())


def test_no_party_sends_a_phase_change_and_only_the_shelter_a_place() -> None:
    for kind, categories in shipped_senders().items():
        assert "phase" not in categories, kind
        assert {"safety-score", "incident"} <= categories, kind
        if kind != PartnerType.SHELTER.value:
            assert not categories & {"stay", "location"}, kind
    assert {"stay", "location"} <= shipped_senders()["shelter"]


def test_a_chain_partner_is_its_partner_type() -> None:
    shelter = Party(id="p-1", role=PartyRole.CHAIN_PARTNER, name="Opvang", partner_type=PartnerType.SHELTER)
    client = Party(id="p-2", role=PartyRole.CLIENT, name="Cliënt")
    assert sender_kind(shelter) == "shelter"
    assert "location" in may_send(shelter)
    assert may_send(client) == frozenset({"safety-score", "incident"})
