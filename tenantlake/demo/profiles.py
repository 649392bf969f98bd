"""What kind of business each demo tenant is: sizes, segments, seasonality, vocabulary.

A :class:`Profile` is pure data; :mod:`tenantlake.demo.sim` turns it into rows and
:mod:`tenantlake.demo.dialects` writes those rows in the tenant's own export dialect. The three
demo tenants each have one profile; extra scale tenants (``scale-0004`` ...) reuse them.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace


@dataclass(frozen=True)
class Segment:
    name: str
    share: float
    #: Mean orders per customer per (average) day.
    order_rate: float
    #: Mean lines per order and mean units per line.
    lines_mean: float
    qty_mean: float
    #: Payment terms in days and the segment's customer discount.
    pay_terms: int
    discount: float


@dataclass(frozen=True)
class LocationDef:
    location_id: str
    name: str
    location_type: str
    region: str
    #: Share of SKUs stocked here (the first location stocks everything).
    stock_share: float
    #: Share of customers whose home location this is.
    customer_share: float


@dataclass(frozen=True)
class PartnerDef:
    partner_id: str
    name: str
    region: str
    #: 0 = strong partner, 1 = weak partner (drives project failure).
    weakness: float


@dataclass(frozen=True)
class Profile:
    dialect: str
    industry: str
    currency: str
    n_customers: int
    n_skus: int
    n_projects: int
    n_opportunities: int
    segments: tuple[Segment, ...]
    locations: tuple[LocationDef, ...]
    partners: tuple[PartnerDef, ...]
    categories: tuple[str, ...]
    #: Per category: (peak day-of-year, amplitude) of a yearly cosine.
    category_season: tuple[tuple[int, float], ...]
    regions: tuple[str, ...]
    channels: tuple[tuple[str, float], ...]
    carriers: tuple[str, ...]
    #: Weekday multipliers Mon..Sun.
    weekday: tuple[float, ...]
    #: Promotion windows per SKU per year and their demand uplift range.
    promos_per_year: float
    promo_uplift: tuple[float, float]
    #: Site-wide sale events (ecommerce): list of (month, day, length_days, uplift, sku_share).
    sale_events: tuple[tuple[int, int, int, float, float], ...] = ()
    churn_share: float = 0.25
    new_customer_share: float = 0.2
    #: Customer base-rate heterogeneity (gamma shape; lower = more spread).
    rate_shape: float = 2.0
    ticket_rate: float = 0.01
    transit_days: tuple[int, int] = (1, 4)
    requested_lead: tuple[int, int] = (2, 7)
    entities: tuple[str, ...] = ()
    id_prefix: dict[str, str] = field(default_factory=dict)
    name_style: str = "company_de"
    sku_style: str = "numeric"
    workflow_names: tuple[str, ...] = ("order_entry", "invoice_match", "po_confirmation")
    sales_owners: tuple[str, ...] = ()


ALL_ENTITIES = (
    "customers", "products", "locations", "orders", "order_lines", "shipments",
    "inventory_snapshots", "purchase_orders", "invoices", "payments", "opportunities",
    "tickets", "workflow_runs", "partners", "projects", "milestones",
)

PARTNERS_NORTHBRIDGE = (
    PartnerDef("northbridge-consulting", "Northbridge Consulting GmbH", "DACH", 0.15),
    PartnerDef("datawerk-solutions", "Datawerk Solutions AG", "DACH", 0.45),
    PartnerDef("rapidedi-services", "RapidEDI Services", "EU", 0.95),
    PartnerDef("cloudbridge-integration", "Cloudbridge Integration Ltd", "EU", 0.6),
)
PARTNERS_KEYSTONE = (
    PartnerDef("keystone-systems", "Keystone Systems Integrators Inc.", "US", 0.3),
    PartnerDef("bayline-integrations", "Bayline Integrations LLC", "US", 0.9),
    PartnerDef("summit-erp-partners", "Summit ERP Partners", "US", 0.5),
)

NORTHWIND = Profile(
    dialect="northwind",
    industry="distribution",
    currency="EUR",
    n_customers=560,
    n_skus=240,
    n_projects=64,
    n_opportunities=1400,
    segments=(
        Segment("Schlüsselkunde", 0.10, 0.34, 5.0, 14.0, 45, 0.08),
        Segment("Mittelstand", 0.30, 0.12, 3.4, 8.0, 30, 0.04),
        Segment("Kleinkunde", 0.60, 0.048, 2.2, 4.0, 14, 0.0),
    ),
    locations=(
        LocationDef("ZL01", "Zentrallager Kassel", "distribution_center", "Mitte", 1.0, 0.40),
        LocationDef("NL02", "Lager Nord Hamburg", "warehouse", "Nord", 0.42, 0.22),
        LocationDef("SL03", "Lager Süd München", "warehouse", "Süd", 0.42, 0.24),
        LocationDef("WL04", "Lager West Köln", "warehouse", "West", 0.36, 0.14),
    ),
    partners=PARTNERS_NORTHBRIDGE,
    categories=("Getränke", "Lebensmittel", "Reinigung", "Verpackung", "Gastrobedarf",
                "Hygiene"),
    category_season=((200, 0.35), (340, 0.2), (90, 0.1), (320, 0.15), (180, 0.1), (30, 0.1)),
    regions=("Mitte", "Nord", "Süd", "West"),
    channels=(("edi", 0.42), ("email", 0.2), ("phone", 0.16), ("sales_rep", 0.1), ("web", 0.12)),
    carriers=("DHL Freight", "DB Schenker", "Dachser", "Hermes"),
    weekday=(1.25, 1.15, 1.1, 1.1, 1.0, 0.12, 0.03),
    promos_per_year=1.6,
    promo_uplift=(1.6, 3.2),
    churn_share=0.26,
    ticket_rate=0.012,
    entities=ALL_ENTITIES,
    id_prefix={"order": "AU", "invoice": "RE", "payment": "ZA", "po": "BE", "ship": "LS",
               "ticket": "TK", "run": "WF", "opp": "VC", "project": "PRJ", "customer": "K",
               "sku": ""},
    name_style="company_de",
    sku_style="numeric",
    sales_owners=("A. Becker", "J. Hoffmann", "S. Wagner", "M. Schulz", "L. Fischer"),
)

BLUEPEAK = Profile(
    dialect="bluepeak",
    industry="ecommerce",
    currency="EUR",
    n_customers=14000,
    n_skus=160,
    n_projects=52,
    n_opportunities=0,
    segments=(
        Segment("member", 0.18, 0.0105, 1.9, 1.4, 0, 0.05),
        Segment("regular", 0.42, 0.0052, 1.6, 1.2, 0, 0.0),
        Segment("occasional", 0.40, 0.0025, 1.3, 1.1, 0, 0.0),
    ),
    locations=(
        LocationDef("DC-LEJ", "Fulfilment Center Leipzig", "distribution_center", "DE", 1.0,
                    0.7),
        LocationDef("3PL-NL", "3PL Venlo", "3pl", "NL", 0.5, 0.3),
    ),
    partners=PARTNERS_NORTHBRIDGE,
    categories=("tents", "sleeping-bags", "jackets", "footwear", "climbing", "accessories"),
    category_season=((170, 0.6), (190, 0.45), (330, 0.55), (120, 0.3), (200, 0.4), (340, 0.3)),
    regions=("DE", "AT", "CH", "NL", "FR", "DK"),
    channels=(("web", 0.72), ("marketplace", 0.28)),
    carriers=("DHL Paket", "DPD", "GLS", "UPS"),
    weekday=(1.1, 1.0, 0.95, 0.95, 0.9, 0.9, 1.2),
    promos_per_year=2.4,
    promo_uplift=(2.0, 4.0),
    sale_events=((11, 24, 5, 3.2, 1.0), (7, 1, 12, 1.9, 0.45), (3, 20, 7, 1.6, 0.3)),
    churn_share=0.35,
    new_customer_share=0.45,
    rate_shape=1.2,
    ticket_rate=0.0012,
    transit_days=(1, 3),
    requested_lead=(2, 4),
    entities=tuple(e for e in ALL_ENTITIES if e not in ("invoices", "payments",
                                                        "opportunities")),
    id_prefix={"order": "BP", "ship": "FUL", "po": "PO", "ticket": "ZD", "run": "run",
               "project": "BP-PRJ", "customer": "cus_", "sku": "BPK-"},
    name_style="person",
    sku_style="code",
    workflow_names=("order_sync", "fraud_check", "returns_processing", "po_confirmation"),
)

HARBOR = Profile(
    dialect="harbor",
    industry="wholesale",
    currency="USD",
    n_customers=420,
    n_skus=200,
    n_projects=58,
    n_opportunities=1100,
    segments=(
        Segment("KEY", 0.12, 0.3, 4.6, 18.0, 45, 0.07),
        Segment("MID", 0.33, 0.1, 3.2, 9.0, 30, 0.03),
        Segment("SMALL", 0.55, 0.045, 2.1, 5.0, 30, 0.0),
    ),
    locations=(
        LocationDef("BAL", "Baltimore Main DC", "distribution_center", "US-EAST", 1.0, 0.5),
        LocationDef("ATL", "Atlanta Branch", "warehouse", "US-SOUTH", 0.38, 0.3),
        LocationDef("CLE", "Cleveland Branch", "warehouse", "US-MIDWEST", 0.3, 0.2),
    ),
    partners=PARTNERS_KEYSTONE,
    categories=("Fasteners", "Plumbing", "Electrical", "Janitorial", "Safety", "Tools"),
    category_season=((150, 0.15), (120, 0.2), (260, 0.1), (20, 0.15), (200, 0.2), (100, 0.1)),
    regions=("MD", "VA", "PA", "GA", "OH", "NC"),
    channels=(("edi", 0.35), ("sales_rep", 0.3), ("phone", 0.15), ("email", 0.1),
              ("web", 0.1)),
    carriers=("UPS Freight", "FedEx Freight", "Old Dominion", "Estes"),
    weekday=(1.2, 1.15, 1.1, 1.1, 1.05, 0.08, 0.02),
    promos_per_year=1.0,
    promo_uplift=(1.4, 2.4),
    churn_share=0.24,
    ticket_rate=0.01,
    entities=tuple(e for e in ALL_ENTITIES if e != "workflow_runs"),
    id_prefix={"order": "SO", "invoice": "INV", "payment": "PMT", "po": "PO", "ship": "SH",
               "ticket": "CS", "run": "", "opp": "OPP", "project": "HW-PRJ", "customer": "C",
               "sku": "HW"},
    name_style="company_us",
    sku_style="numeric",
    sales_owners=("Mike Turner", "Dana Brooks", "Luis Ortega", "Karen Pike"),
)

PROFILES: dict[str, Profile] = {"northwind": NORTHWIND, "bluepeak": BLUEPEAK, "harbor": HARBOR}

#: The shipped demo tenants: id -> dialect.
DEMO_TENANTS: dict[str, str] = {
    "northwind-distribution": "northwind",
    "bluepeak-outdoor": "bluepeak",
    "harbor-wholesale": "harbor",
}


def scaled(profile: Profile, scale: float = 1.0, customers: int | None = None,
           skus: int | None = None) -> Profile:
    """A profile with more (or fewer) customers and SKUs.

    Customers scale linearly (order lines follow), SKUs with the square root of the scale so
    that demand per SKU stays realistic and inventory snapshots don't outgrow the order book.
    Projects and opportunities grow slowly: they are business events, not transactions.
    """
    n_c = customers if customers else max(20, round(profile.n_customers * scale))
    n_s = skus if skus else max(20, round(profile.n_skus * scale ** 0.5))
    return replace(
        profile,
        n_customers=n_c,
        n_skus=n_s,
        n_projects=max(12, round(profile.n_projects * min(max(scale, 0.25), 4) ** 0.5)),
        n_opportunities=round(profile.n_opportunities * max(scale, 0.1) ** 0.5),
    )
