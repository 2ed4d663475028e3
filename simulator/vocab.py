"""Word lists and the product catalogue the generator draws from.

Accented letters are ones that NFKD splits into a base letter and a mark (é, ü, ñ, å...) or that have an
obvious one-letter fold (ø, ł), so a name and its unaccented spelling are the same customer to a
reasonable normalizer. No "ß": its upper case is "SS", which would make case variants depend on casefolding.
"""

from __future__ import annotations

from typing import NamedTuple

# Word lists laid out a screen at a time, not one word per line.
# fmt: off
NAME_HEADS = (
    "Müller", "Schäfer", "Böhm", "Köhler", "Jäger", "Wälti", "Brønd", "Łukasz", "Núñez", "Señorío", "Élan",
    "Crème", "Château", "Lumière", "Forêt", "Garçon", "Åkesson", "Fjällvik", "Nordlicht", "Søndergaard",
    "Ibáñez", "Olivença", "Pérez", "Grünwald", "Öztürk", "Dvořák", "Ružička", "Hägglund", "Kovács", "Zoë",
    "Alpenblick", "Bergmann", "Rheinland", "Hanse", "Atlantic", "Meridian", "Northwind", "Blue Harbour",
    "Oakridge", "Silverline", "Redwood", "Kestrel", "Highgate", "Lindqvist", "Van der Berg", "De Vries",
    "Janssen", "Bakker", "Dubois", "Lefèvre", "Moreau", "Rossi", "Bianchi", "Ferrari", "Costa", "Almeida",
    "Novak", "Horváth", "Nieminen", "Virtanen", "Kowalski", "Wiśniewski", "Andersson", "Eriksen", "O'Brien",
    "McAllister", "Fitzgerald", "Harrington", "Whitfield", "Ashford",
)

NAME_TRADES = (
    "Bau", "Logistik", "Consulting", "Solutions", "Systems", "Immobilien", "Elektro", "Medizintechnik",
    "Steuerberatung", "Architekten", "Software", "Handel", "Transport", "Druckerei", "Bäckerei", "Apotheke",
    "Zahnärzte", "Rechtsanwälte", "Hôtellerie", "Boulangerie", "Pharmacie", "Conseil", "Ingénierie",
    "Finance", "Insurance", "Healthcare", "Engineering", "Manufacturing", "Retail", "Foods", "Motors",
    "Design", "Media", "Energy", "Marine", "Textil", "Möbel", "Café", "Studio", "Partners", "Labs",
    "Technologies", "Analytics", "Security", "Networks", "Telecom", "Pharma", "Chemie", "Agrar", "Verlag",
)

NAME_PLACES = (
    "Nord", "Süd", "Ost", "West", "Mitte", "Berlin", "München", "Zürich", "Wien", "Köln", "Genève", "Lyon",
    "Málaga", "Göteborg", "Kraków", "Porto", "London", "Dublin", "Leeds", "Austin", "Denver", "Toronto",
    "Rotterdam", "Antwerpen", "Bergen", "Tampere", "Brno", "Győr", "Ljubljana", "Aarhus",
)

# Legal forms as they appear after a name. Each stays one token however it is cased or dotted, so a
# normalizer that folds legal suffixes folds every variant the generator makes of them.
LEGAL_SUFFIXES = ("GmbH", "AG", "KG", "Ltd", "Inc", "LLC", "PLC", "SAS", "SARL", "SRL", "BV", "NV", "AB", "Oy", "ApS")

SELLER_NAMES = (
    "Alpenblick IT GmbH", "Hanse Netzwerk KG", "Brightpath Solutions Ltd", "Meridian Secure BV",
    "Nordlys Data AS", "Lumière Informatique SAS", "Keystone Cyber Inc", "Danube Systems Kft",
    "Iberia Seguridad SL", "Baltic Cloud UAB", "Thames Valley IT Ltd", "Rhône Services SARL",
)
DISTRIBUTOR_NAMES = ("Westcon Distribution GmbH", "Exclusive Networks SAS", "ALSO Deutschland GmbH")


class Product(NamedTuple):
    code: str
    name: str
    generic_code: str
    group: str
    unit_price: float  # list price in EUR per unit and month


PRODUCTS = (
    Product("CIXA", "Central Intercept X Advanced", "CIXA", "Endpoint", 2.10),
    Product("CIXAXDR", "Central Intercept X Advanced with XDR", "CIXAXDR", "Endpoint", 3.20),
    Product("CIXAMDR", "Central Intercept X Advanced with MDR Complete", "MDRC", "Managed Services", 6.50),
    Product("CSVRA", "Central Intercept X Advanced for Server", "CSVRA", "Server", 7.80),
    Product("CSVRXDR", "Central Intercept X Advanced for Server with XDR", "CSVRXDR", "Server", 9.40),
    Product("CEMA", "Central Email Advanced", "CEMA", "Email", 1.40),
    Product("CMDM", "Central Mobile Advanced", "CMDM", "Mobile", 0.90),
    Product("CPT", "Central Phish Threat", "CPT", "Phish Threat", 0.75),
    Product("CZTNA", "Sophos ZTNA", "CZTNA", "Network", 1.85),
    Product("CDE", "Central Device Encryption", "CDE", "Encryption", 0.95),
    Product("CWP", "Central Cloud Workload Protection", "CWP", "Cloud", 4.10),
)

# Hardware billed per serial number, not per tenant: the "standalone device" lines without accountId.
DEVICES = (
    Product("XGS2100", "XGS 2100 Xstream Protection", "XGSXP", "Firewall", 45.00),
    Product("XGS116", "XGS 116 Standard Protection", "XGSSP", "Firewall", 18.00),
    Product("AP6420", "AP6 420 Access Point", "AP6", "Wireless", 6.00),
)

# Currency factors applied to the EUR list price.
CURRENCY_FACTOR = {"EUR": 1.0, "USD": 1.08, "GBP": 0.86}

# (dataGeography, dataRegion) pairs Sophos Central uses; apiHost is https://api-<region>.central.sophos.com.
REGIONS = (("DE", "eu01"), ("DE", "eu02"), ("IE", "eu01"), ("US", "us01"), ("US", "us03"), ("CA", "ca01"),
           ("AU", "au01"), ("JP", "jp01"))
# fmt: on
