"""The journey's shop as two CSV files in the import's own format.

``crm.demo.generate_shop`` draws customers and orders from five hidden behaviour
groups (loyal high spenders, bargain hunters, lapsed customers, new customers,
browsers) as pandas tables without touching the database; here they are written
with the columns ``crm.exporting`` uses, which the admin's "Import CSV" reads back.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from crm.demo import generate_shop
from crm.exporting import CUSTOMER_FIELDS, ORDER_FIELDS


@dataclass(frozen=True)
class ShopFiles:
    customers_csv: Path
    orders_csv: Path
    customers: int
    orders: int
    buyers: int  # customers with at least one order


def _moment(epoch_seconds: int) -> str:
    return datetime.fromtimestamp(epoch_seconds, UTC).isoformat() if epoch_seconds >= 0 else ""


def write_shop_csvs(folder: Path, *, customers: int, seed: int, now: datetime) -> ShopFiles:
    """Write ``customers.csv`` and ``orders.csv`` for a generated shop into ``folder``."""
    shop = generate_shop(customers=customers, seed=seed, now=now)
    people, orders = shop.customers, shop.orders

    def external_id(row: int) -> str:
        return f"e2e-{int(people['number'].iat[row]):05d}"

    customers_csv = folder / "customers.csv"
    with customers_csv.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(CUSTOMER_FIELDS)
        for row, person in enumerate(people.itertuples(index=False)):
            writer.writerow([
                external_id(row), f"shopper{person.number}@example.com", person.name,
                person.gender, str(person.birth_date)[:10], person.city, person.country,
                _moment(person.signed_up_at), person.consent_status, person.consent_source,
                _moment(person.consent_at), _moment(person.unsubscribed_at),
            ])

    orders_csv = folder / "orders.csv"
    with orders_csv.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(ORDER_FIELDS)
        for number, order in enumerate(orders.itertuples(index=False), start=1):
            writer.writerow([
                f"E2E-O{number:06d}", external_id(order.customer), "", _moment(order.placed_at),
                str(Decimal(int(order.amount_cents)).scaleb(-2)), "CNY", order.item_count,
                order.category, order.channel, order.status,
            ])

    return ShopFiles(customers_csv=customers_csv, orders_csv=orders_csv,
                     customers=len(people), orders=len(orders),
                     buyers=int(orders["customer"].nunique()))
