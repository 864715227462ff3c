"""The one declaration of every source table: columns, logical types, keys, files.

The generator writes exactly these columns in exactly this order, the raw loader
loads them with exactly these types (never auto-detection), and the tests check
both against this module. Add a column here and every step sees it.

Conventions shared by all tables:

* timestamps are UTC, written as ISO-8601 with a ``Z`` suffix
  (``2025-09-01T14:03:07Z``) and loaded as DuckDB ``TIMESTAMP`` holding UTC;
* money is integer cents (``*_cents``); caps are cents too (1 cap = $0.01);
* booleans are ``true``/``false`` in CSV and ``0``/``1`` in SQLite;
* ``json`` columns hold a JSON object as text;
* PII columns are declared with how raw masks them (``pii``): ``"hash"`` lands as
  ``<name>_hash``, the keyed hash of the value (:mod:`foundation.pii`), ``"drop"`` does
  not land at all. :attr:`SourceTable.raw_columns` is what schema ``raw`` holds; the
  source files keep the plaintext, and no DuckDB file ever does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

LogicalType = Literal["bigint", "integer", "text", "double", "boolean", "timestamp", "json"]
SourceSystem = Literal["app_db", "event_exports"]
#: How raw masks a PII column: its keyed hash in ``<name>_hash``, or nothing at all.
PiiMasking = Literal["hash", "drop"]
PII_HASH_SUFFIX = "_hash"

DUCKDB_TYPES: dict[str, str] = {
    "bigint": "BIGINT",
    "integer": "INTEGER",
    "text": "VARCHAR",
    "double": "DOUBLE",
    "boolean": "BOOLEAN",
    "timestamp": "TIMESTAMP",
    "json": "VARCHAR",
}
SQLITE_TYPES: dict[str, str] = {
    "bigint": "INTEGER",
    "integer": "INTEGER",
    "text": "TEXT",
    "double": "REAL",
    "boolean": "INTEGER",
    "timestamp": "TEXT",
    "json": "TEXT",
}

APP_DB_FILE = "app.sqlite"


@dataclass(frozen=True)
class Column:
    """One source column; ``nullable=False`` means the source system guarantees a value;
    ``pii`` says how raw masks it (None: not PII, landed as it is)."""

    name: str
    type: LogicalType
    nullable: bool = True
    description: str = ""
    pii: PiiMasking | None = None

    @property
    def duckdb_type(self) -> str:
        return DUCKDB_TYPES[self.type]

    @property
    def sqlite_type(self) -> str:
        return SQLITE_TYPES[self.type]

    def landed(self) -> Column | None:
        """The column raw holds for this one: itself, its keyed hash (``<name>_hash``,
        text) when ``pii="hash"``, nothing when ``pii="drop"``."""
        if self.pii == "drop":
            return None
        if self.pii == "hash":
            return Column(name=f"{self.name}{PII_HASH_SUFFIX}", type="text",
                          nullable=self.nullable,
                          description=(f"PII masked by the loader: HMAC-SHA256 hex of the "
                                       f"lower-cased, trimmed {self.name} under the home's "
                                       f"PII key. Source column: {self.description}"))
        return self


@dataclass(frozen=True)
class ForeignKey:
    """``column`` of this table references ``ref_table.ref_column``."""

    column: str
    ref_table: str
    ref_column: str


@dataclass(frozen=True)
class SourceTable:
    """A table one source system hands us, with the file it arrives in."""

    name: str
    system: SourceSystem
    description: str
    columns: tuple[Column, ...]
    primary_key: str
    event_time_column: str
    foreign_keys: tuple[ForeignKey, ...] = field(default_factory=tuple)

    @property
    def file_name(self) -> str:
        """The file this table arrives in, relative to ``data/<run_id>/``."""
        return APP_DB_FILE if self.system == "app_db" else f"{self.name}.csv"

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns)

    @property
    def has_pii(self) -> bool:
        return any(column.pii for column in self.columns)

    @property
    def raw_columns(self) -> tuple[Column, ...]:
        """The columns of ``raw.<table>``, in order (:meth:`Column.landed`). Staging, the
        raw contract and the dbt source declaration see these, never plaintext PII."""
        return tuple(landed for column in self.columns if (landed := column.landed()))

    @property
    def raw_column_names(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.raw_columns)

    def column(self, name: str) -> Column:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(f"{self.name} has no column {name!r}")


def _c(name: str, type_: LogicalType, nullable: bool = True, description: str = "",
       pii: PiiMasking | None = None) -> Column:
    return Column(name=name, type=type_, nullable=nullable, description=description, pii=pii)


SCHOOLS = SourceTable(
    name="schools",
    system="app_db",
    description="One row per school that can receive donations.",
    primary_key="school_id",
    event_time_column="created_at",
    columns=(
        _c("school_id", "bigint", False, "Surrogate key of the school."),
        _c("name", "text", False, "School name."),
        _c("city", "text", False, "City."),
        _c("state", "text", False, "Two-letter US state code."),
        _c("zip_code", "text", False, "Five-digit ZIP code, kept as text (leading zeros)."),
        _c("enrollment", "integer", False, "Number of enrolled students."),
        _c("created_at", "timestamp", False, "When the school joined the program (UTC)."),
    ),
)

USERS = SourceTable(
    name="users",
    system="app_db",
    description=(
        "One row per app account. An account is created at first install; sign-up "
        "fills the personal fields. Referred users are ordinary rows here."
    ),
    primary_key="user_id",
    event_time_column="updated_at",
    columns=(
        _c("user_id", "bigint", False, "Surrogate key of the account."),
        _c("email", "text", True, "Email address; null until sign-up.", pii="hash"),
        _c("first_name", "text", True, "First name; null until sign-up.", pii="drop"),
        _c("last_name", "text", True, "Last name; null until sign-up.", pii="drop"),
        _c("phone", "text", True, "Phone number; null until sign-up or when not given.",
           pii="hash"),
        _c("state", "text", False, "Two-letter US state code of the user."),
        _c("user_type", "text", False, "parent, teacher or supporter."),
        _c("platform", "text", False, "ios or android."),
        _c("device_id", "text", False, "Device the app was first installed on."),
        _c("acquisition_channel", "text", False,
           "organic, paid_social, search, school_outreach or referral."),
        _c("referral_code", "text", False, "The user's own stable referral code (unique)."),
        _c("installed_at", "timestamp", False, "First install (UTC)."),
        _c("signed_up_at", "timestamp", True, "Sign-up (UTC); null if never signed up."),
        _c("school_id", "bigint", True, "Linked school; null if none linked."),
        _c("school_linked_at", "timestamp", True, "When the school was linked (UTC)."),
        _c("is_verified", "boolean", False, "Account (email) verified."),
        _c("updated_at", "timestamp", False, "Last change of this row (UTC)."),
    ),
    foreign_keys=(ForeignKey("school_id", "schools", "school_id"),),
)

PRODUCTS = SourceTable(
    name="products",
    system="app_db",
    description="One row per product in the catalogue.",
    primary_key="product_id",
    event_time_column="",
    columns=(
        _c("product_id", "bigint", False, "Surrogate key of the product."),
        _c("upc", "text", False, "12-digit Universal Product Code (unique)."),
        _c("brand", "text", False, "Brand name."),
        _c("name", "text", False, "Product name."),
        _c("category", "text", False, "Product category."),
        _c("unit_price_cents", "integer", False, "List price in cents."),
        _c("caps_per_unit", "integer", False, "Caps (cents) earned per qualifying unit."),
        _c("is_qualifying", "boolean", False, "Whether purchases earn caps."),
    ),
)

REFERRALS = SourceTable(
    name="referrals",
    system="app_db",
    description=(
        "One row per referral invite, with every funnel stage the invite reached "
        "(invite <= click <= install <= apply <= onboard <= qualify)."
    ),
    primary_key="referral_id",
    event_time_column="sent_at",
    columns=(
        _c("referral_id", "bigint", False, "Surrogate key of the invite."),
        _c("referrer_user_id", "bigint", False, "The inviting (verified) user."),
        _c("referral_code", "text", False, "The referrer's code carried by the invite."),
        _c("channel", "text", False, "sms, email, link or social."),
        _c("sent_at", "timestamp", False, "Invite sent (UTC)."),
        _c("clicked_at", "timestamp", True, "Invite link clicked (UTC)."),
        _c("installed_at", "timestamp", True, "Invitee's first install (UTC)."),
        _c("referred_user_id", "bigint", True, "Invitee's account, once installed."),
        _c("applied_at", "timestamp", True, "Code applied (UTC)."),
        _c("onboarded_at", "timestamp", True, "Invitee completed onboarding (UTC)."),
        _c("qualified_at", "timestamp", True,
           "Invitee's first qualifying action; both bonuses are earned then (UTC)."),
        _c("status", "text", False,
           "sent, clicked, installed, applied, onboarded, qualified or rejected."),
        _c("rejection_reason", "text", True,
           "applied_after_window, self_referral, existing_user or fraud_suspected."),
    ),
    foreign_keys=(
        ForeignKey("referrer_user_id", "users", "user_id"),
        ForeignKey("referred_user_id", "users", "user_id"),
    ),
)

REDEMPTIONS = SourceTable(
    name="redemptions",
    system="app_db",
    description="One row per payout request of a user's balance to their school.",
    primary_key="redemption_id",
    event_time_column="requested_at",
    columns=(
        _c("redemption_id", "bigint", False, "Surrogate key of the request."),
        _c("user_id", "bigint", False, "Requesting user."),
        _c("school_id", "bigint", False, "School receiving the donation."),
        _c("amount_cents", "bigint", False, "Amount requested, positive cents."),
        _c("requested_at", "timestamp", False, "Request time (UTC)."),
        _c("status", "text", False, "pending, paid or failed."),
        _c("paid_at", "timestamp", True, "Payout time (UTC) when paid."),
    ),
    foreign_keys=(
        ForeignKey("user_id", "users", "user_id"),
        ForeignKey("school_id", "schools", "school_id"),
    ),
)

APP_EVENTS = SourceTable(
    name="app_events",
    system="event_exports",
    description="One row per client event exported from the analytics SDK.",
    primary_key="event_id",
    event_time_column="event_time",
    columns=(
        _c("event_id", "bigint", False, "Unique event id."),
        _c("user_id", "bigint", True, "Account; null for events before sign-up."),
        _c("device_id", "text", False, "Device that sent the event."),
        _c("session_id", "text", False, "Client session id."),
        _c("event_name", "text", False,
           "app_install, app_open, sign_up, school_linked, receipt_scan, "
           "referral_share, rewards_view, redemption_request."),
        _c("event_time", "timestamp", False, "Client event time (UTC)."),
        _c("platform", "text", False, "ios or android."),
        _c("app_version", "text", False, "Semantic version of the app."),
        _c("properties", "json", True, "Event-specific properties (JSON object)."),
    ),
    foreign_keys=(ForeignKey("user_id", "users", "user_id"),),
)

RECEIPTS = SourceTable(
    name="receipts",
    system="event_exports",
    description="One row per scanned receipt.",
    primary_key="receipt_id",
    event_time_column="scanned_at",
    columns=(
        _c("receipt_id", "bigint", False, "Unique receipt id."),
        _c("user_id", "bigint", False, "Scanning user."),
        _c("school_id", "bigint", True, "User's linked school at scan time."),
        _c("store_name", "text", False, "Store printed on the receipt."),
        _c("purchased_at", "timestamp", False, "Purchase time on the receipt (UTC)."),
        _c("scanned_at", "timestamp", False, "Scan time (UTC), never before purchase."),
        _c("status", "text", False, "accepted, rejected or pending."),
        _c("rejection_reason", "text", True,
           "blurry_image, duplicate_receipt, too_old, unsupported_store or "
           "no_qualifying_items when rejected."),
        _c("ocr_confidence", "double", False, "OCR confidence in [0, 1]."),
        _c("total_cents", "bigint", False, "Receipt total in cents."),
    ),
    foreign_keys=(
        ForeignKey("user_id", "users", "user_id"),
        ForeignKey("school_id", "schools", "school_id"),
    ),
)

RECEIPT_ITEMS = SourceTable(
    name="receipt_items",
    system="event_exports",
    description="One row per line of a scanned receipt.",
    primary_key="receipt_item_id",
    event_time_column="",
    columns=(
        _c("receipt_item_id", "bigint", False, "Unique line id."),
        _c("receipt_id", "bigint", False, "Receipt of the line."),
        _c("product_id", "bigint", False, "Product bought."),
        _c("quantity", "integer", False, "Units bought (>= 1)."),
        _c("unit_price_cents", "integer", False, "Price paid per unit in cents."),
        _c("is_qualifying", "boolean", False, "Whether the line earns caps."),
        _c("caps_earned", "integer", False,
           "Caps (cents) earned; 0 unless qualifying on an accepted receipt."),
    ),
    foreign_keys=(
        ForeignKey("receipt_id", "receipts", "receipt_id"),
        ForeignKey("product_id", "products", "product_id"),
    ),
)

REWARDS_LEDGER = SourceTable(
    name="rewards_ledger",
    system="event_exports",
    description=(
        "One signed entry per balance change; the single source of truth for balances "
        "(earn > 0; redeem and expire < 0)."
    ),
    primary_key="entry_id",
    event_time_column="created_at",
    columns=(
        _c("entry_id", "bigint", False, "Unique entry id."),
        _c("user_id", "bigint", False, "Account whose balance changes."),
        _c("school_id", "bigint", True, "User's linked school when the entry was made."),
        _c("entry_type", "text", False,
           "earn_purchase, earn_referral_bonus, earn_welcome_bonus, redeem, expire or adjust."),
        _c("amount_cents", "bigint", False, "Signed amount in cents."),
        _c("source_type", "text", False, "receipt, referral, redemption, expiry or adjustment."),
        _c("source_id", "bigint", True, "Id of the source row (receipt, referral, redemption)."),
        _c("created_at", "timestamp", False, "Entry time (UTC), never before its source."),
    ),
    foreign_keys=(
        ForeignKey("user_id", "users", "user_id"),
        ForeignKey("school_id", "schools", "school_id"),
    ),
)

#: The three stamps the loader adds to every raw table, after its declared columns:
#: (name, DuckDB type, description).
STAMP_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("_ingested_at", "TIMESTAMP", "UTC time of the raw load (one value per load)."),
    ("_run_id", "VARCHAR", "Pipeline run that loaded the row."),
    ("_source_file", "VARCHAR", "File the row came from, relative to data/<run_id>/."),
)

SOURCE_TABLES: tuple[SourceTable, ...] = (
    SCHOOLS,
    USERS,
    PRODUCTS,
    REFERRALS,
    REDEMPTIONS,
    APP_EVENTS,
    RECEIPTS,
    RECEIPT_ITEMS,
    REWARDS_LEDGER,
)
TABLES_BY_NAME: dict[str, SourceTable] = {table.name: table for table in SOURCE_TABLES}
APP_DB_TABLES: tuple[SourceTable, ...] = tuple(t for t in SOURCE_TABLES if t.system == "app_db")
EVENT_EXPORT_TABLES: tuple[SourceTable, ...] = tuple(
    t for t in SOURCE_TABLES if t.system == "event_exports"
)

