"""A small historic wholesale ERP export in a foreign dialect, written for the onboarding test.

Deliberately unlike the demo dialects and the product's defaults: ``|``-delimited ``.tbl``
files with a trailing delimiter on every line, latin-1 text, decimal commas, US month-first
dates, upper-case prefixed column names (``O_ORDERKEY``), one-letter status codes, an order total
that includes tax, and a history in the 1990s that ends in the middle of a month.
"""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

NAMES = ("Müller & Söhne", "Brasserie Lefèvre", "Ålesund Fisk", "Nørre Trading", "García Hnos",
         "Žilina Steel", "O'Brien Ltd", "Smith, Jones & Co")
SEGMENTS = ("AUTOMOBILE", "BUILDING", "FURNITURE", "MACHINERY", "HOUSEHOLD")


def _d(day: dt.date) -> str:
    return day.strftime("%m/%d/%Y")


def _n(x: float) -> str:
    return f"{x:.2f}".replace(".", ",")


def write_exports(folder: Path, seed: int = 3, customers: int = 25, orders: int = 240,
                  start: dt.date = dt.date(1995, 1, 1), end: dt.date = dt.date(1995, 11, 17)
                  ) -> dict[str, Path]:
    """Write CUSTOMER.tbl, ORDERS.tbl and LINEITEM.tbl under ``folder``; return their paths."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    span = (end - start).days
    cust = [(1000 + i, f"{rng.choice(NAMES)} #{i}", rng.randint(0, 24), rng.choice(SEGMENTS),
             round(rng.uniform(-900, 9000), 2)) for i in range(customers)]
    order_rows, line_rows = [], []
    for k in range(orders):
        okey = 1 + 4 * k  # sparse keys, as the real exports have
        odate = start + dt.timedelta(days=rng.randint(0, span))
        status = rng.choices("FOPX", weights=(70, 15, 10, 5))[0]
        total = 0.0
        for ln in range(1, rng.randint(1, 6) + 1):
            qty = rng.randint(1, 50)
            price = round(qty * rng.uniform(900, 2100) / 100, 2) * 100 / 100
            disc = rng.choice((0.0, 0.02, 0.05, 0.1))
            tax = rng.choice((0.0, 0.04, 0.08))
            ship = odate + dt.timedelta(days=rng.randint(1, 30))
            commit = odate + dt.timedelta(days=rng.randint(10, 40))
            receipt = ship + dt.timedelta(days=rng.randint(1, 10))
            flag = rng.choices("NRA", weights=(80, 10, 10))[0]
            line_rows.append((okey, rng.randint(1, 400), ln, qty, price, disc, tax, flag,
                              ship, commit, receipt))
            total += price * (1 - disc) * (1 + tax)
        order_rows.append((okey, rng.choice(cust)[0], status, round(total, 2), odate,
                           rng.choice(("1-URGENT", "2-HIGH", "3-MEDIUM", "4-NOT SPECIFIED")),
                           rng.choice(("", "carefully final deposits", "quick | ironic"))))
    files = {
        "customers": folder / "CUSTOMER.tbl",
        "orders": folder / "ORDERS.tbl",
        "order_lines": folder / "LINEITEM.tbl",
    }
    with open(files["customers"], "w", encoding="latin-1", newline="") as fh:
        fh.write("C_CUSTKEY|C_NAME|C_NATIONKEY|C_MKTSEGMENT|C_ACCTBAL|\n")
        for c in cust:
            fh.write(f"{c[0]}|{c[1]}|{c[2]}|{c[3]}|{_n(c[4])}|\n")
    with open(files["orders"], "w", encoding="latin-1", newline="") as fh:
        fh.write("O_ORDERKEY|O_CUSTKEY|O_ORDERSTATUS|O_TOTALPRICE|O_ORDERDATE|"
                 "O_ORDERPRIORITY|O_COMMENT|\n")
        for o in order_rows:
            comment = f'"{o[6]}"' if "|" in o[6] else o[6]
            fh.write(f"{o[0]}|{o[1]}|{o[2]}|{_n(o[3])}|{_d(o[4])}|{o[5]}|{comment}|\n")
    with open(files["order_lines"], "w", encoding="latin-1", newline="") as fh:
        fh.write("L_ORDERKEY|L_PARTKEY|L_LINENUMBER|L_QUANTITY|L_EXTENDEDPRICE|L_DISCOUNT|"
                 "L_TAX|L_RETURNFLAG|L_SHIPDATE|L_COMMITDATE|L_RECEIPTDATE|\n")
        for r in line_rows:
            fh.write(f"{r[0]}|{r[1]}|{r[2]}|{r[3]}|{_n(r[4])}|{_n(r[5])}|{_n(r[6])}|{r[7]}|"
                     f"{_d(r[8])}|{_d(r[9])}|{_d(r[10])}|\n")
    return files
