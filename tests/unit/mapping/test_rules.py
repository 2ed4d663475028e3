import pandas as pd
import pytest

from sophos_sync.mapping.rules import DECISION_COLUMNS, MAX_CANDIDATES, MIN_CANDIDATE_SCORE, decide, normalize_name

PARTNER_A = "11111111-1111-4111-8111-111111111111"
PARTNER_B = "22222222-2222-4222-8222-222222222222"
PARTNER_UNKNOWN = "99999999-9999-4999-8999-999999999999"


@pytest.mark.parametrize(
    ("sophos_name", "platform_name"),
    [
        ("Bäckerei Müller", "Backerei Muller"),
        ("BÄCKEREI MÜLLER GMBH", "bäckerei müller"),
        ("Bäckerei-Müller G.m.b.H.", "Backerei Muller GmbH"),
        ("  Acme   Widgets  ", "Acme Widgets"),
        ("Acme Widgets, Inc.", "ACME WIDGETS LLC"),
        ("Acme Widgets Ltd", "Acme Widgets Limited"),
        ("Acme Widgets Corp.", "Acme Widgets Corporation"),
        ("Müller Bau GmbH & Co. KG", "Muller Bau"),
        ("Müller Bau GmbH und Co KG", "Muller Bau"),
        ("Outback Tools Pty Ltd", "Outback Tools"),
        ("Société Générale de Café S.A.S.", "Societe Generale de Cafe"),
        ("Fratelli Rossi S.p.A.", "Fratelli Rossi SpA"),
        ("Rossi e Figli Srl", "Rossi e Figli"),
        ("Van Dijk B.V.", "Van Dijk BV"),
        ("Nordisk Stål AB", "Nordisk Stal"),
        ("Suomen Kala Oy", "Suomen Kala"),
        ("Søren's Plumbing", "Sorens Plumbing"),
        ("Straße Bau AG", "Strasse Bau"),
        ("Zakład Łódź Sp. z o.o.", "Zaklad Lodz"),
        ("Tom & Jerry Ltd", "Tom and Jerry"),
        ("Gamma SA", "Gamma S.A."),
        ("Delta PLC", "Delta"),
    ],
)
def test_names_that_differ_only_in_form_normalize_equal(sophos_name, platform_name):
    assert normalize_name(sophos_name) == normalize_name(platform_name)
    assert normalize_name(sophos_name)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("Acme Widgets", "Acme Gadgets"),
        ("Müller Bau", "Müller Holz"),
        ("Nordic AS", "Nordic Asia"),
        ("Alpha 1", "Alpha 2"),
    ],
)
def test_different_companies_stay_different(first, second):
    assert normalize_name(first) != normalize_name(second)


def test_normalize_gives_the_plain_comparable_form():
    assert normalize_name("Bäckerei  Müller G.m.b.H.") == "backerei muller"
    assert normalize_name("O'Brien & Sons, Ltd.") == "obrien and sons"


def test_legal_suffix_is_removed_only_at_the_end():
    assert normalize_name("AG Chemie Partner") == "ag chemie partner"
    assert normalize_name("SA Coffee Roasters Ltd") == "sa coffee roasters"


def test_name_that_is_only_a_legal_form_keeps_it():
    assert normalize_name("AG") == "ag"
    assert normalize_name("GmbH & Co. KG") == "gmbh and co kg"


def test_missing_or_blank_name_normalizes_to_empty():
    assert normalize_name(None) == ""
    assert normalize_name("  ,.  ") == ""


def test_name_containing_sql_is_just_text():
    assert normalize_name("Robert'); DROP TABLE sophos.customers;--") == "robert drop table sophos customers"


# --- decide ---------------------------------------------------------------------------------------------

SELLERS = pd.DataFrame(
    [
        {"seller_id": "seller-a", "name": "Seller A", "sophos_partner_id": PARTNER_A},
        {"seller_id": "seller-b", "name": "Seller B", "sophos_partner_id": PARTNER_B},
        {"seller_id": "seller-c", "name": "Seller C without Sophos", "sophos_partner_id": None},
    ]
)
ORGS = pd.DataFrame(
    [
        {"org_id": "org-a1", "seller_id": "seller-a", "name": "Backerei Muller"},
        {"org_id": "org-a2", "seller_id": "seller-a", "name": "Twin Corp"},
        {"org_id": "org-a3", "seller_id": "seller-a", "name": "TWIN Corporation"},
        {"org_id": "org-a4", "seller_id": "seller-a", "name": "Alpine Skis Limited"},
        {"org_id": "org-a5", "seller_id": "seller-a", "name": "Alpine Ski School"},
        {"org_id": "org-b1", "seller_id": "seller-b", "name": "Backerei Muller"},
        {"org_id": "org-b2", "seller_id": "seller-b", "name": "Alpine Skis"},
    ]
)
NO_MAPPINGS = pd.DataFrame(columns=["sophos_customer_id", "platform_org_id", "method", "org_seller_id"])


def tenant(customer_id, name, partner_id=PARTNER_A, show_as=None):
    return {"sophos_customer_id": customer_id, "name": name, "show_as": show_as, "partner_id": partner_id}


def decide_one(row, mappings=NO_MAPPINGS, orgs=ORGS):
    result = decide(pd.DataFrame([row]), SELLERS, orgs, mappings)
    assert list(result.columns) == DECISION_COLUMNS
    assert len(result) == 1
    return result.iloc[0].to_dict()


def test_single_same_named_org_of_the_tenants_seller_is_auto_matched():
    decision = decide_one(tenant("c-1", "Bäckerei Müller GmbH"))
    assert decision["outcome"] == "auto_matched"
    assert decision["platform_org_id"] == "org-a1"  # not org-b1: that one belongs to another seller
    assert decision["seller_id"] == "seller-a"
    assert decision["reason"] is None
    assert decision["candidates"] == []


def test_partner_id_not_credential_decides_the_seller():
    decision = decide_one(tenant("c-1", "Bäckerei Müller", partner_id=PARTNER_B))
    assert (decision["outcome"], decision["platform_org_id"], decision["seller_id"]) == (
        "auto_matched",
        "org-b1",
        "seller-b",
    )


def test_partner_id_matches_whatever_its_case():
    decision = decide_one(tenant("c-1", "Bäckerei Müller", partner_id=PARTNER_A.upper()))
    assert decision["outcome"] == "auto_matched"


def mapped_to(org_id, org_seller_id, customer_id="c-1"):
    return pd.DataFrame(
        [
            {
                "sophos_customer_id": customer_id,
                "platform_org_id": org_id,
                "method": "manual",
                "org_seller_id": org_seller_id,
            }
        ]
    )


def test_existing_mapping_of_the_customers_own_seller_wins_over_the_name_match():
    decision = decide_one(tenant("c-1", "Bäckerei Müller"), mappings=mapped_to("org-a5", "seller-a"))
    assert decision["outcome"] == "mapped"
    assert decision["platform_org_id"] == "org-a5"
    assert decision["reason"] is None
    assert decision["candidates"] == []


def test_mapping_to_another_sellers_organization_is_sent_to_review_as_seller_changed():
    """The customer is seller-b's now (its Sophos partner): an old or forged mapping to seller-a's organization
    is not used, and Support gets seller-b's candidates."""
    decision = decide_one(
        tenant("c-1", "Alpine Skis AG", partner_id=PARTNER_B), mappings=mapped_to("org-a5", "seller-a")
    )
    assert (decision["outcome"], decision["reason"], decision["platform_org_id"], decision["seller_id"]) == (
        "unmapped",
        "seller_changed",
        None,
        "seller-b",
    )
    assert [c["org_id"] for c in decision["candidates"]][:1] == ["org-b2"]


@pytest.mark.parametrize("partner_id", [PARTNER_UNKNOWN, None])
def test_mapping_of_a_customer_whose_seller_is_unknown_now_is_seller_changed(partner_id):
    decision = decide_one(
        tenant("c-1", "Alpine Ski School", partner_id=partner_id), mappings=mapped_to("org-a5", "seller-a")
    )
    assert (decision["outcome"], decision["reason"], decision["candidates"]) == ("unmapped", "seller_changed", [])


def test_mapping_to_an_organization_that_no_longer_exists_is_seller_changed():
    decision = decide_one(tenant("c-1", "Alpine Ski School"), mappings=mapped_to("org-gone", None))
    assert (decision["outcome"], decision["reason"]) == ("unmapped", "seller_changed")


def test_unknown_partner_is_unmapped_unknown_seller_without_candidates():
    decision = decide_one(tenant("c-1", "Bäckerei Müller", partner_id=PARTNER_UNKNOWN))
    assert (decision["outcome"], decision["reason"], decision["seller_id"]) == ("unmapped", "unknown_seller", None)
    assert decision["platform_org_id"] is None
    assert decision["candidates"] == []


def test_tenant_without_partner_is_unknown_seller():
    decision = decide_one(tenant("c-1", "Bäckerei Müller", partner_id=None))
    assert (decision["outcome"], decision["reason"], decision["partner_id"]) == ("unmapped", "unknown_seller", None)


def test_two_orgs_with_the_same_normalized_name_are_ambiguous_and_both_are_top_candidates():
    decision = decide_one(tenant("c-1", "Twin Inc."))
    assert (decision["outcome"], decision["reason"]) == ("unmapped", "ambiguous")
    assert decision["platform_org_id"] is None
    top_two = decision["candidates"][:2]
    assert {c["org_id"] for c in top_two} == {"org-a2", "org-a3"}
    assert all(c["score"] == 100.0 for c in top_two)


def test_similar_but_not_equal_name_is_no_match_with_ranked_candidates_of_the_same_seller():
    decision = decide_one(tenant("c-1", "Alpine Skiing"))
    assert (decision["outcome"], decision["reason"]) == ("unmapped", "no_match")
    candidates = decision["candidates"]
    assert candidates, "similar names of the seller must be offered"
    assert {c["org_id"] for c in candidates} <= {"org-a1", "org-a2", "org-a3", "org-a4", "org-a5"}
    assert candidates[0]["org_id"] in {"org-a4", "org-a5"}
    scores = [c["score"] for c in candidates]
    assert scores == sorted(scores, reverse=True)
    assert all(MIN_CANDIDATE_SCORE <= s < 100 for s in scores)
    assert set(candidates[0]) == {"org_id", "name", "score"}
    assert candidates[0]["name"] in {"Alpine Skis Limited", "Alpine Ski School"}


def test_candidates_are_at_most_five():
    many = pd.DataFrame(
        [{"org_id": f"org-{i}", "seller_id": "seller-a", "name": f"Harbour Logistics {i}"} for i in range(12)]
    )
    decision = decide_one(tenant("c-1", "Harbor Logistic"), orgs=many)
    assert decision["reason"] == "no_match"
    assert len(decision["candidates"]) == MAX_CANDIDATES


def test_unrelated_names_are_not_offered_as_candidates():
    decision = decide_one(tenant("c-1", "Quantum Yoga"))
    assert (decision["reason"], decision["candidates"]) == ("no_match", [])


def test_seller_without_any_org_is_no_match_without_candidates():
    empty = ORGS[ORGS["seller_id"] != "seller-b"]
    decision = decide_one(tenant("c-1", "Alpine Skis", partner_id=PARTNER_B), orgs=empty)
    assert (decision["reason"], decision["candidates"]) == ("no_match", [])


def test_show_as_finds_the_org_when_name_does_not():
    decision = decide_one(tenant("c-1", "BM Holding 2021", show_as="Bäckerei Müller"))
    assert (decision["outcome"], decision["platform_org_id"]) == ("auto_matched", "org-a1")


def test_name_and_show_as_pointing_at_different_orgs_is_ambiguous():
    decision = decide_one(tenant("c-1", "Bäckerei Müller", show_as="Alpine Ski School"))
    assert (decision["outcome"], decision["reason"]) == ("unmapped", "ambiguous")
    assert {c["org_id"] for c in decision["candidates"][:2]} == {"org-a1", "org-a5"}


def test_fuzzy_similarity_never_maps():
    decision = decide_one(tenant("c-1", "Backerei Mueller"))
    assert decision["outcome"] == "unmapped"
    assert decision["candidates"][0]["org_id"] == "org-a1"
    assert decision["candidates"][0]["score"] >= 90


def test_each_tenant_gets_one_decision_in_input_order():
    tenants = pd.DataFrame(
        [
            tenant("c-3", "Alpine Skis", partner_id=PARTNER_B),
            tenant("c-1", "Nobody Known"),
            tenant("c-2", "Backerei Muller", partner_id=PARTNER_UNKNOWN),
        ]
    )
    result = decide(tenants, SELLERS, ORGS, NO_MAPPINGS)
    assert list(result["sophos_customer_id"]) == ["c-3", "c-1", "c-2"]
    assert list(result["outcome"]) == ["auto_matched", "unmapped", "unmapped"]
    assert list(result["reason"]) == [None, "no_match", "unknown_seller"]


def test_no_tenants_gives_an_empty_frame_with_the_decision_columns():
    empty = pd.DataFrame(columns=["sophos_customer_id", "name", "show_as", "partner_id"])
    result = decide(empty, SELLERS, ORGS, NO_MAPPINGS)
    assert result.empty
    assert list(result.columns) == DECISION_COLUMNS
