"""Small pools of realistic text, filled once per run by a seeded Faker instance.

Faker is slow per call, so it only fills these pools (a few hundred values each); numpy
then samples from them by index for every row.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa
from faker import Faker

#: US states with a rough population weight (millions), so users cluster where people live.
STATES: tuple[tuple[str, float], ...] = (
    ("AL", 5.1), ("AK", 0.7), ("AZ", 7.4), ("AR", 3.1), ("CA", 39.0), ("CO", 5.9),
    ("CT", 3.6), ("DE", 1.0), ("FL", 22.6), ("GA", 11.0), ("HI", 1.4), ("ID", 2.0),
    ("IL", 12.5), ("IN", 6.9), ("IA", 3.2), ("KS", 2.9), ("KY", 4.5), ("LA", 4.6),
    ("ME", 1.4), ("MD", 6.2), ("MA", 7.0), ("MI", 10.0), ("MN", 5.7), ("MS", 2.9),
    ("MO", 6.2), ("MT", 1.1), ("NE", 2.0), ("NV", 3.2), ("NH", 1.4), ("NJ", 9.3),
    ("NM", 2.1), ("NY", 19.6), ("NC", 10.8), ("ND", 0.8), ("OH", 11.8), ("OK", 4.1),
    ("OR", 4.2), ("PA", 13.0), ("RI", 1.1), ("SC", 5.4), ("SD", 0.9), ("TN", 7.1),
    ("TX", 30.5), ("UT", 3.4), ("VT", 0.6), ("VA", 8.7), ("WA", 7.8), ("WV", 1.8),
    ("WI", 5.9), ("WY", 0.6),
)

#: Grocery chains whose receipts are scanned; Faker adds small independent stores.
STORE_CHAINS: tuple[str, ...] = (
    "Walmart", "Kroger", "Target", "Costco", "Safeway", "Publix", "Albertsons", "H-E-B",
    "Meijer", "Whole Foods Market", "Trader Joe's", "Aldi", "Food Lion", "Giant Eagle",
    "Hy-Vee", "Wegmans", "ShopRite", "Stop & Shop", "Winn-Dixie", "Harris Teeter",
    "Sprouts Farmers Market", "WinCo Foods", "Ralphs", "Fred Meyer", "CVS Pharmacy",
    "Walgreens", "Dollar General", "Family Dollar", "Sam's Club", "BJ's Wholesale Club",
)

BRANDS: tuple[str, ...] = (
    "Sunny Fields", "Golden Harvest", "Maple Grove", "Blue Ridge", "Prairie Gold",
    "Happy Valley", "Crystal Springs", "Northern Pine", "Orchard Lane", "Red Barn",
    "Silver Spoon", "Green Meadow", "Riverbend", "Oak Hollow", "Clearwater",
    "Hearthstone", "Summit Peak", "Willow Creek", "Cedar Point", "Bright Morning",
)

CATEGORIES: tuple[tuple[str, tuple[str, ...], int], ...] = (
    ("cereal", ("Honey Oat Cereal", "Corn Flakes", "Granola Clusters", "Frosted Squares"), 449),
    ("snacks", ("Cheese Crackers", "Pretzel Twists", "Fruit Snacks", "Granola Bars"), 399),
    ("dairy", ("Whole Milk", "Greek Yogurt", "Cheddar Slices", "String Cheese"), 379),
    ("beverages", ("Orange Juice", "Apple Juice", "Sparkling Water", "Lemonade"), 349),
    ("bakery", ("Sandwich Bread", "Bagels", "Tortillas", "Muffins"), 329),
    ("frozen", ("Frozen Pizza", "Waffles", "Mixed Vegetables", "Ice Cream"), 549),
    ("pantry", ("Pasta", "Tomato Sauce", "Peanut Butter", "Rice"), 279),
    ("household", ("Paper Towels", "Dish Soap", "Laundry Detergent", "Trash Bags"), 899),
    ("personal_care", ("Toothpaste", "Shampoo", "Hand Soap", "Sunscreen"), 599),
    ("baby", ("Baby Wipes", "Diapers", "Baby Food Pouches", "Formula"), 1299),
)

#: Place names US schools are commonly named after (beside people's surnames).
SCHOOL_PLACE_STEMS: tuple[str, ...] = (
    "Oak Grove", "Riverside", "Lakeview", "Hillcrest", "Westside", "Eastside", "Northside",
    "Maple Grove", "Cedar Ridge", "Pine Valley", "Meadowbrook", "Sunset", "Highland",
    "Fairview", "Brookside", "Willow Creek", "Parkview", "Valley View", "Forest Hills",
    "Spring Creek", "Centennial", "Heritage", "Liberty", "Pioneer", "Greenwood",
    "Mountain View", "Bayside", "Prairie View", "Rolling Hills", "Country Club",
)

EMAIL_DOMAINS: tuple[str, ...] = (
    "gmail.com", "gmail.com", "gmail.com", "yahoo.com", "outlook.com", "icloud.com",
    "hotmail.com", "aol.com", "example.org",
)


@dataclass(frozen=True)
class TextPools:
    """Text pools as Arrow arrays (sampled by index) plus their sizes."""

    first_names: pa.Array
    last_names: pa.Array
    school_stems: pa.Array  # "Lincoln", "Maple Street": a school's name before its level
    stores: pa.Array
    store_supported: tuple[bool, ...]


def build_pools(seed: int, unsupported_store_share: float) -> TextPools:
    """Fill every pool from one seeded ``Faker('en_US')`` instance (deterministic)."""
    fake = Faker("en_US")
    fake.seed_instance(seed)
    first = sorted({fake.first_name() for _ in range(400)})
    last = sorted({fake.last_name() for _ in range(400)})
    school_stems = sorted({fake.last_name() for _ in range(300)} | set(SCHOOL_PLACE_STEMS))
    local = sorted({f"{fake.last_name()}'s {fake.random_element(('Market', 'Grocery'))}"
                    for _ in range(40)})
    stores = list(STORE_CHAINS) + local
    n_unsupported = max(1, round(len(stores) * unsupported_store_share))
    supported = tuple(i < len(stores) - n_unsupported for i in range(len(stores)))
    return TextPools(
        first_names=pa.array(first),
        last_names=pa.array(last),
        school_stems=pa.array(school_stems),
        stores=pa.array(stores),
        store_supported=supported,
    )
