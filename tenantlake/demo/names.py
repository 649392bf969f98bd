"""Word lists for believable names (customers, products, projects); no external data."""

from __future__ import annotations

import numpy as np

_DE_SURNAMES = ("Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner",
                "Becker", "Schulz", "Hoffmann", "Schäfer", "Koch", "Bauer", "Richter", "Klein",
                "Wolf", "Schröder", "Neumann", "Schwarz", "Zimmermann", "Braun", "Krüger",
                "Hofmann", "Hartmann", "Lange", "Schmitt", "Werner", "Krause", "Meier", "Lehmann")
_DE_KINDS = ("Gastronomie", "Getränkehandel", "Hotelbetriebe", "Großküchen", "Catering",
             "Bäckerei", "Kantinenservice", "Markt", "Feinkost", "Gebäudereinigung")
_DE_FORMS = ("GmbH", "GmbH & Co. KG", "KG", "e.K.", "AG", "OHG")

_US_FIRST = ("Atlantic", "Chesapeake", "Blue Ridge", "Keystone", "Piedmont", "Lakeshore",
             "Patriot", "Summit", "Liberty", "Harbor", "Pioneer", "Gateway", "Allegheny",
             "Tidewater", "Capitol", "Ironbridge", "Riverside", "Buckeye", "Peachtree", "Union")
_US_KINDS = ("Facility Services", "Plumbing Supply", "Electric", "Building Maintenance",
             "Construction", "Hardware", "Property Management", "Mechanical", "Janitorial Co",
             "Contractors")
_US_FORMS = ("Inc.", "LLC", "Corp.", "Co.")

_FIRST = ("Anna", "Lukas", "Mia", "Jonas", "Emma", "Leon", "Sofia", "Noah", "Lea", "Finn",
          "Hanna", "Elias", "Lina", "Paul", "Marie", "Ben", "Clara", "Luca", "Ida", "Tom",
          "Sanne", "Daan", "Julie", "Lars", "Freja", "Mads", "Camille", "Hugo")
_LAST_INITIAL = "ABCDEFGHIJKLMNOPRSTVWZ"

_PRODUCT_WORDS = {
    "northwind": {
        "Getränke": ("Apfelschorle", "Mineralwasser", "Orangensaft", "Cola", "Eistee",
                     "Radler", "Malzbier", "Apfelsaft"),
        "Lebensmittel": ("Spätzle", "Sauerkraut", "Senf", "Rapsöl", "Tomatensoße",
                         "Linsen", "Brühe", "Semmelknödel"),
        "Reinigung": ("Allzweckreiniger", "Glasreiniger", "Spülmittel", "Entkalker",
                      "Bodenreiniger", "Scheuermilch"),
        "Verpackung": ("Menüschale", "Pizzakarton", "Kaffeebecher", "Alufolie",
                       "Frischhaltefolie", "Papiertüte"),
        "Gastrobedarf": ("Servietten", "Trinkhalme", "Holzbesteck", "Tischdecke",
                         "Kerzen", "Zahnstocher"),
        "Hygiene": ("Handseife", "Einmalhandschuhe", "Papierhandtücher", "Desinfektion",
                    "Toilettenpapier", "Müllbeutel"),
    },
    "bluepeak": {
        "tents": ("Ridge 2P Tent", "Summit Dome 3P", "Trail Tarp", "Basecamp 4P", "Ultralight 1P"),
        "sleeping-bags": ("Down Bag -5", "Synthetic Bag 0", "Liner Silk", "Quilt 600",
                          "Kids Bag"),
        "jackets": ("Storm Shell", "Puffer Hoodie", "Fleece Midlayer", "Softshell",
                    "Rain Poncho"),
        "footwear": ("Trail Runner", "Hiking Boot Mid", "Approach Shoe", "Camp Sandal",
                     "Gaiters"),
        "climbing": ("Harness Alpine", "Quickdraw Set", "Chalk Bag", "Helmet Pro",
                     "Belay Device"),
        "accessories": ("Headlamp 400", "Trek Poles", "Water Filter", "Dry Bag 20L",
                        "Camp Mug"),
    },
    "harbor": {
        "Fasteners": ("Hex Bolt 3/8", "Lag Screw 1/4", "Anchor Kit", "Wood Screw #8",
                      "Flat Washer"),
        "Plumbing": ("PVC Elbow 1\"", "Ball Valve 3/4", "Copper Tee", "PEX Coupling",
                     "Drain Snake"),
        "Electrical": ("Romex 12/2", "Breaker 20A", "GFCI Outlet", "Wire Nut Kit",
                       "Conduit 1/2"),
        "Janitorial": ("Floor Cleaner", "Trash Liner 55gal", "Mop Head", "Paper Towel Roll",
                       "Hand Soap"),
        "Safety": ("Nitrile Gloves", "Safety Glasses", "Hi-Vis Vest", "Ear Plugs",
                   "Hard Hat"),
        "Tools": ("Utility Knife", "Tape Measure 25ft", "Drill Bit Set", "Caulk Gun",
                  "Pipe Wrench"),
    },
}
_SIZES = {"northwind": ("0,5l", "1l", "5kg", "10er", "50er", "Karton", "Kasten", "XL"),
          "bluepeak": ("S", "M", "L", "XL", "Olive", "Navy", "Red", "Black"),
          "harbor": ("Box/100", "Case/12", "Each", "Pack/50", "Bulk", "Pail")}

#: (type, min days, max days, complexity 0-1, budget hours range, weight)
PROJECT_TYPES = (
    ("erp_go_live", 150, 260, 1.0, (1500, 4000), 0.06),
    ("module_rollout", 50, 120, 0.55, (300, 900), 0.24),
    ("integration", 40, 100, 0.6, (200, 700), 0.22),
    ("edi_onboarding", 20, 60, 0.3, (60, 250), 0.22),
    ("warehouse_rollout", 70, 150, 0.75, (500, 1500), 0.12),
    ("bi_dashboard", 30, 70, 0.3, (100, 300), 0.14),
)
MILESTONES = ("design", "build", "test", "training", "data_migration")
_PROJECT_TARGETS = {
    "northwind": ("Metro", "EDEKA", "Transgourmet", "Lager Nord", "Lager Süd", "Lager West",
                  "Finanzbuchhaltung", "Einkauf", "Versand", "Zoll", "DATEV", "Webshop B2B"),
    "bluepeak": ("Shopify", "Amazon EU", "Zalando", "Klarna", "3PL Venlo", "Returns portal",
                 "Loyalty", "Marketplace FR", "PIM", "Helpdesk", "Newsletter", "Nordics"),
    "harbor": ("Home Depot Pro", "Ferguson", "Atlanta Branch", "Cleveland Branch", "AP Automation",
               "Sales Tax", "Field Sales App", "WMS", "EDI 850/856", "Customer Portal",
               "Rebates", "Freight Audit"),
}
_TYPE_LABEL = {"erp_go_live": "ERP go-live", "module_rollout": "Module rollout",
               "integration": "Integration", "edi_onboarding": "EDI onboarding",
               "warehouse_rollout": "Warehouse rollout", "bi_dashboard": "BI dashboards"}


def customer_names(style: str, n: int, rng: np.random.Generator) -> np.ndarray:
    if style == "company_de":
        a = rng.integers(0, len(_DE_SURNAMES), n)
        b = rng.integers(0, len(_DE_KINDS), n)
        c = rng.integers(0, len(_DE_FORMS), n)
        return np.array([f"{_DE_SURNAMES[i]} {_DE_KINDS[j]} {_DE_FORMS[k]}"
                         for i, j, k in zip(a, b, c)], dtype=object)
    if style == "company_us":
        a = rng.integers(0, len(_US_FIRST), n)
        b = rng.integers(0, len(_US_KINDS), n)
        c = rng.integers(0, len(_US_FORMS), n)
        return np.array([f"{_US_FIRST[i]} {_US_KINDS[j]} {_US_FORMS[k]}"
                         for i, j, k in zip(a, b, c)], dtype=object)
    a = rng.integers(0, len(_FIRST), n)
    b = rng.integers(0, len(_LAST_INITIAL), n)
    return np.array([f"{_FIRST[i]} {_LAST_INITIAL[j]}." for i, j in zip(a, b)], dtype=object)


def product_names(dialect: str, categories: tuple[str, ...], cat_idx: np.ndarray,
                  rng: np.random.Generator) -> np.ndarray:
    words = _PRODUCT_WORDS[dialect]
    sizes = _SIZES[dialect]
    out = []
    for c in cat_idx.tolist():
        w = words[categories[c]]
        out.append(f"{w[rng.integers(0, len(w))]} {sizes[rng.integers(0, len(sizes))]}")
    return np.array(out, dtype=object)


def project_name(dialect: str, ptype: str, rng: np.random.Generator) -> str:
    t = _PROJECT_TARGETS[dialect]
    return f"{_TYPE_LABEL[ptype]}: {t[rng.integers(0, len(t))]}"
