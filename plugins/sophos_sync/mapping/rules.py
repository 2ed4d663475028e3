"""Customer mapping decisions (docs/architecture.md, Mapping rules), pure: DataFrames in, DataFrame out, no I/O.

Outcome of each Sophos tenant of the month, first rule that applies:
1. ``mapped``: a row in ``sophos.customer_mappings`` exists (manual or auto) and its organization belongs
   to the tenant's current seller; it wins over the rules below. A mapping to an organization of any other
   seller (the customer moved to another partner, the seller lost its partner id, or the mapping was made
   wrong) is ``unmapped`` with reason ``seller_changed``: nothing more is imported under it.
2. ``auto_matched``: the tenant's ``partner.id`` is a seller's ``sophos_partner_id`` and exactly one
   customer organization of that seller has the same normalized name (``normalize_name``).
3. ``unmapped`` with a reason: ``unknown_seller`` (no seller has that partner id), ``ambiguous`` (two or
   more of the seller's organizations share the normalized name) or ``no_match``.

Which tenant name is compared: both ``name`` and ``show_as``. The organizations whose normalized name
equals either of them are the matches; exactly one is required. So ``show_as`` can find the
organization when ``name`` does not, but when the two names point at different organizations the
customer is ``ambiguous`` rather than guessed.

Fuzzy similarity (rapidfuzz) only ranks the candidates shown to Support; it never creates a mapping.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable

import numpy as np
import pandas as pd
from rapidfuzz import fuzz, process

MAX_CANDIDATES = 5
# WRatio gives unrelated short names around 50 (its partial matching finds some overlap in anything);
# below this a "candidate" only costs Support time.
MIN_CANDIDATE_SCORE = 60.0

DECISION_COLUMNS = [
    "sophos_customer_id",
    "partner_id",
    "seller_id",
    "outcome",
    "platform_org_id",
    "reason",
    "candidates",
]

# Letters NFKD does not decompose into a base letter plus accents.
_FOLD = str.maketrans(
    {"ø": "o", "æ": "ae", "œ": "oe", "ł": "l", "đ": "d", "ð": "d", "þ": "th", "ı": "i", "ħ": "h", "ŧ": "t"}
)
# Dotted abbreviations such as G.m.b.H., S.A., e.V. lose their dots so they read as one word.
_DOTTED_ABBREVIATION = re.compile(r"(?<!\w)(?:[^\W\d_]\.){2,}")
_APOSTROPHES = re.compile(r"['’`´]")
_NOT_WORD = re.compile(r"[\W_]+")

# Legal-form suffixes, as the token sequences they become after punctuation is folded. Only trailing
# ones are removed (repeatedly, so "GmbH & Co. KG" and "Pty Ltd" go entirely); words such as "as" or
# "sa" stay when they are part of the name itself.
_LEGAL_SUFFIXES: tuple[tuple[str, ...], ...] = tuple(
    tuple(suffix.split())
    for suffix in (
        # German-speaking
        "gmbh",
        "mbh",
        "ag",
        "kg",
        "kgaa",
        "ohg",
        "gbr",
        "ug",
        "ug haftungsbeschrankt",
        "ev",
        "eg",
        "se",
        # English-speaking
        "ltd",
        "limited",
        "inc",
        "incorporated",
        "llc",
        "llp",
        "lp",
        "corp",
        "corporation",
        "co",
        "company",
        "plc",
        "pty",
        "pvt",
        "pte",
        # Romance languages
        "sa",
        "sas",
        "sasu",
        "sarl",
        "eurl",
        "srl",
        "srls",
        "spa",
        "sl",
        "slu",
        "sau",
        "sca",
        "scs",
        "snc",
        "lda",
        "ltda",
        "sa de cv",
        "sapi de cv",
        # Benelux, Nordics
        "bv",
        "nv",
        "bvba",
        "vof",
        "cv",
        "ab",
        "oy",
        "oyj",
        "as",
        "asa",
        "aps",
        "hf",
        "ehf",
        # Central and Eastern Europe
        "sp z oo",
        "sp zoo",
        "sro",
        "spol s ro",
        "kft",
        "zrt",
        "nyrt",
        "doo",
        "dd",
        "ad",
        "ood",
        "eood",
    )
)
_SUFFIX_SET = frozenset(_LEGAL_SUFFIXES)
_LONGEST_SUFFIX = max(map(len, _LEGAL_SUFFIXES))
_CONNECTORS = {"and", "und", "et"}


def normalize_name(name: str | None) -> str:
    """The comparable form of a company name: case, accents, punctuation, spacing and legal form folded.

    ``"Bäckerei Müller GmbH"``, ``"BACKEREI  MULLER"`` and ``"Bäckerei-Müller G.m.b.H."`` all become
    ``"backerei muller"``. A name that is nothing but a legal form keeps it (``"AG"`` → ``"ag"``).
    """
    if not name:
        return ""
    text = unicodedata.normalize("NFKD", name.casefold().translate(_FOLD))
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = text.replace("&", " and ")
    text = _DOTTED_ABBREVIATION.sub(lambda m: m.group(0).replace(".", ""), text)
    text = _APOSTROPHES.sub("", text)
    tokens = _NOT_WORD.sub(" ", text).split()
    stripped = _strip_legal_suffixes(tokens)
    return " ".join(stripped or tokens)


def _strip_legal_suffixes(tokens: list[str]) -> list[str]:
    tokens = list(tokens)
    removed_one = False
    while tokens:
        suffix = _trailing_suffix(tokens)
        if suffix:
            del tokens[-suffix:]
            removed_one = True
        elif removed_one and tokens[-1] in _CONNECTORS:
            # the "&" of "GmbH & Co. KG" once "Co. KG" is gone
            tokens.pop()
        else:
            break
    return tokens


def _trailing_suffix(tokens: list[str]) -> int:
    """Length of the longest legal suffix the tokens end with (0 if none)."""
    for n in range(min(_LONGEST_SUFFIX, len(tokens)), 0, -1):
        if tuple(tokens[-n:]) in _SUFFIX_SET:
            return n
    return 0


def decide(
    tenants: pd.DataFrame,
    sellers: pd.DataFrame,
    orgs: pd.DataFrame,
    mappings: pd.DataFrame,
) -> pd.DataFrame:
    """One decision row per tenant (columns DECISION_COLUMNS), in the tenants' order.

    tenants: sophos_customer_id, name, show_as, partner_id; sellers: seller_id, name, sophos_partner_id;
    orgs: org_id, seller_id, name; mappings: sophos_customer_id, platform_org_id, method, org_seller_id (the
    seller the mapped organization belongs to now).
    Ids are compared as strings (case-insensitively for the UUIDs), so callers may pass UUIDs or text.
    """
    seller_by_partner = {
        _uuid_key(partner): seller
        for partner, seller in zip(sellers["sophos_partner_id"], sellers["seller_id"], strict=True)
        if _present(partner)
    }
    mapped_org = {
        _uuid_key(customer): (org, org_seller)
        for customer, org, org_seller in zip(
            mappings["sophos_customer_id"], mappings["platform_org_id"], mappings["org_seller_id"], strict=True
        )
    }
    seller_orgs = _SellerOrganizations(orgs)

    rows: list[dict] = []
    to_rank: dict[str, list[tuple[int, list[str]]]] = defaultdict(list)  # seller -> (row index, names)
    for customer, name, show_as, partner in zip(
        tenants["sophos_customer_id"], tenants["name"], tenants["show_as"], tenants["partner_id"], strict=True
    ):
        partner_id = str(partner) if _present(partner) else None
        seller_id = seller_by_partner.get(_uuid_key(partner)) if partner_id else None
        row: dict = {
            "sophos_customer_id": str(customer),
            "partner_id": partner_id,
            "seller_id": seller_id,
            "outcome": "unmapped",
            "platform_org_id": None,
            "reason": None,
            "candidates": [],
        }
        names = sorted({normalize_name(_text(name)), normalize_name(_text(show_as))} - {""})
        mapped_to, mapped_seller = mapped_org.get(_uuid_key(customer), (None, None))
        if mapped_to is not None and seller_id is not None and mapped_seller == seller_id:
            row.update(outcome="mapped", platform_org_id=mapped_to)
        elif mapped_to is not None:
            row["reason"] = "seller_changed"
            if seller_id is not None:
                to_rank[seller_id].append((len(rows), names))
        elif seller_id is None:
            row["reason"] = "unknown_seller"
        else:
            matches = seller_orgs.exact_matches(seller_id, names)
            if len(matches) == 1:
                row.update(outcome="auto_matched", platform_org_id=matches[0])
            else:
                row["reason"] = "ambiguous" if matches else "no_match"
                to_rank[seller_id].append((len(rows), names))
        rows.append(row)
    for seller_id, pending in to_rank.items():
        ranked = seller_orgs.ranked_candidates(seller_id, [names for _, names in pending])
        for (index, _), candidates in zip(pending, ranked, strict=True):
            rows[index]["candidates"] = candidates
    return pd.DataFrame(rows, columns=DECISION_COLUMNS, dtype=object)


class _SellerOrganizations:
    """The customer organizations of each seller, indexed by normalized name for exact matching."""

    def __init__(self, orgs: pd.DataFrame):
        self._orgs: dict[str, list[tuple[str, str]]] = defaultdict(list)  # seller -> [(org_id, name)]
        self._normalized: dict[str, list[str]] = defaultdict(list)  # seller -> normalized names, same order
        self._by_name: dict[tuple[str, str], list[str]] = defaultdict(list)
        for org_id, seller_id, name in zip(orgs["org_id"], orgs["seller_id"], orgs["name"], strict=True):
            normalized = normalize_name(_text(name))
            self._orgs[seller_id].append((str(org_id), _text(name)))
            self._normalized[seller_id].append(normalized)
            if normalized:
                self._by_name[(seller_id, normalized)].append(str(org_id))

    def exact_matches(self, seller_id: str, normalized_names: Iterable[str]) -> list[str]:
        found: set[str] = set()
        for normalized in normalized_names:
            found.update(self._by_name.get((seller_id, normalized), ()))
        return sorted(found)

    def ranked_candidates(self, seller_id: str, customers: list[list[str]]) -> list[list[dict]]:
        """For each customer (its normalized names), up to MAX_CANDIDATES organizations of the seller scoring
        at least MIN_CANDIDATE_SCORE, most similar first. Score: rapidfuzz WRatio of the normalized names,
        the better of the customer's names. One similarity matrix per seller, computed on all cores."""
        orgs = self._orgs.get(seller_id, [])
        queries = sorted({name for names in customers for name in names})
        if not orgs or not queries:
            return [[] for _ in customers]
        row_of = {query: i for i, query in enumerate(queries)}
        scores = process.cdist(
            queries, self._normalized[seller_id], scorer=fuzz.WRatio, score_cutoff=MIN_CANDIDATE_SCORE, workers=-1
        )
        result: list[list[dict]] = []
        for names in customers:
            if not names:
                result.append([])
                continue
            best = scores[[row_of[name] for name in names]].max(axis=0)
            kept = np.flatnonzero(best)  # below the cutoff cdist reports 0
            if len(kept) > MAX_CANDIDATES:
                fifth_best = np.partition(best[kept], -MAX_CANDIDATES)[-MAX_CANDIDATES]
                kept = kept[best[kept] >= fifth_best]
            ranked = sorted(((float(best[i]), *orgs[i]) for i in kept), key=lambda item: (-item[0], item[2], item[1]))
            result.append(
                [
                    {"org_id": org_id, "name": name, "score": round(score, 1)}
                    for score, org_id, name in ranked[:MAX_CANDIDATES]
                ]
            )
        return result


def _present(value: object) -> bool:
    return value is not None and not (isinstance(value, float) and pd.isna(value)) and value is not pd.NA


def _text(value: object) -> str:
    return str(value) if _present(value) else ""


def _uuid_key(value: object) -> str:
    return str(value).strip().lower() if _present(value) else ""
