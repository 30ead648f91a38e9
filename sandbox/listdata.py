"""The sandbox organisations' lists: chart of accounts, tax rates and suppliers, as the real software
ships them (a UK Xero organisation's default chart with its VAT rates, a US QuickBooks Online company's
chart with its sales-tax codes, Bill.com organisations mirroring the accounting software they sync
with), each with a few dozen suppliers, and the demo's own suppliers among them.

Ids are derived from the organisation and the entry (uuid5 / fixed numbers), so the demo's seeded
lists (sandbox/demo.py) and what the sandbox answers later are the same entries. The sandbox keeps
them as SandboxListEntry rows (seeded lazily by `ensure_lists`), so a test can archive, rename or add
one and see the next read pick it up.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from django.db import transaction

SEEDED_AT = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
_NS = uuid.UUID("6c2b3f0e-6a3d-4f3e-9a6f-2f5d1b7c9e10")

# --- Xero (UK) -------------------------------------------------------------------------------------
# (Code, Name, Type, TaxType) — Xero's default UK chart (the "Demo Company (UK)" organisation).
XERO_UK_ACCOUNTS = [
    ("200", "Sales", "REVENUE", "OUTPUT2"),
    ("260", "Other Revenue", "REVENUE", "OUTPUT2"),
    ("270", "Interest Income", "REVENUE", "NONE"),
    ("310", "Cost of Goods Sold", "DIRECTCOSTS", "INPUT2"),
    ("320", "Direct Wages", "DIRECTCOSTS", "NONE"),
    ("325", "Direct Expenses", "DIRECTCOSTS", "INPUT2"),
    ("400", "Advertising & Marketing", "OVERHEADS", "INPUT2"),
    ("401", "Audit & Accountancy fees", "OVERHEADS", "INPUT2"),
    ("404", "Bank Fees", "OVERHEADS", "EXEMPTINPUT"),
    ("408", "Cleaning", "OVERHEADS", "INPUT2"),
    ("412", "Consulting", "OVERHEADS", "INPUT2"),
    ("416", "Depreciation Expense", "DEPRECIATN", "NONE"),
    ("418", "Charitable and Political Donations", "OVERHEADS", "NONE"),
    ("420", "Entertainment-100% business", "OVERHEADS", "INPUT2"),
    ("424", "Entertainment - 0%", "OVERHEADS", "NONE"),
    ("425", "Postage, Freight & Courier", "OVERHEADS", "INPUT2"),
    ("429", "General Expenses", "OVERHEADS", "INPUT2"),
    ("433", "Insurance", "OVERHEADS", "EXEMPTINPUT"),
    ("437", "Interest Paid", "OVERHEADS", "NONE"),
    ("441", "Legal Expenses", "OVERHEADS", "INPUT2"),
    ("445", "Light, Power, Heating", "OVERHEADS", "RRINPUT"),
    ("449", "Motor Vehicle Expenses", "OVERHEADS", "INPUT2"),
    ("457", "Operating Lease Payments", "OVERHEADS", "INPUT2"),
    ("461", "Printing & Stationery", "OVERHEADS", "INPUT2"),
    ("463", "IT Software and Consumables", "OVERHEADS", "INPUT2"),
    ("465", "Rates", "OVERHEADS", "NONE"),
    ("469", "Rent", "OVERHEADS", "EXEMPTINPUT"),
    ("473", "Repairs & Maintenance", "OVERHEADS", "INPUT2"),
    ("477", "Salaries", "OVERHEADS", "NONE"),
    ("480", "Staff Training", "OVERHEADS", "INPUT2"),
    ("485", "Subscriptions", "OVERHEADS", "INPUT2"),
    ("489", "Telephone & Internet", "OVERHEADS", "INPUT2"),
    ("493", "Travel - National", "OVERHEADS", "INPUT2"),
    ("494", "Travel - International", "OVERHEADS", "ZERORATEDINPUT"),
    ("497", "Bank Revaluations", "OVERHEADS", "NONE"),
    ("499", "Realised Currency Gains", "OVERHEADS", "NONE"),
    ("500", "Corporation Tax", "OVERHEADS", "NONE"),
    ("630", "Inventory", "CURRENT", "NONE"),
    ("710", "Office Equipment", "FIXED", "INPUT2"),
    ("720", "Computer Equipment", "FIXED", "INPUT2"),
    ("800", "Accounts Payable", "CURRLIAB", "NONE"),
]
# (TaxType, Name, rate, can apply to expenses, can apply to revenue)
XERO_UK_TAX_RATES = [
    ("INPUT2", "20% (VAT on Expenses)", "20.0000", True, False),
    ("OUTPUT2", "20% (VAT on Income)", "20.0000", False, True),
    ("RRINPUT", "5% (VAT on Expenses)", "5.0000", True, False),
    ("RROUTPUT", "5% (VAT on Income)", "5.0000", False, True),
    ("ZERORATEDINPUT", "Zero Rated Expenses", "0.0000", True, False),
    ("ZERORATEDOUTPUT", "Zero Rated Income", "0.0000", False, True),
    ("EXEMPTINPUT", "Exempt Expenses", "0.0000", True, False),
    ("EXEMPTOUTPUT", "Exempt Income", "0.0000", False, True),
    ("ECZRINPUT", "Zero Rated EC Expenses", "0.0000", True, False),
    ("REVERSECHARGES", "20% VAT on Imports (Reverse Charge)", "20.0000", True, False),
    ("NONE", "No VAT", "0.0000", True, True),
]
UK_SUPPLIERS = [
    "British Gas",
    "BT Business",
    "Royal Mail",
    "Staples UK",
    "Amazon Business UK",
    "Viking Direct",
    "Screwfix",
    "Travis Perkins",
    "Trainline",
    "British Airways",
    "Premier Inn",
    "Pret A Manger",
    "Costa Coffee",
    "Tesco",
    "Sainsbury's",
    "Shell UK",
    "BP",
    "Vodafone UK",
    "EE Limited",
    "Microsoft Ireland Operations Ltd",
    "Google Cloud EMEA",
    "Adobe Systems Software Ireland",
    "Regus Management Group",
    "HMRC",
    "Zurich Insurance plc",
    "Aviva",
    "DPD Group UK",
    "Hiscox",
    "Octopus Energy",
    "Wex Photo Video",
    "Ryman",
    "Uber Britannia",
]

# --- QuickBooks Online (US) -----------------------------------------------------------------------
# (Id, Name, AccountType, AccountSubType, AcctNum)
QBO_US_ACCOUNTS = [
    ("1", "Services", "Income", "ServiceFeeIncome", "4000"),
    ("2", "Sales of Product Income", "Income", "SalesOfProductIncome", "4100"),
    ("3", "Cost of Goods Sold", "Cost of Goods Sold", "SuppliesMaterialsCogs", "5000"),
    ("7", "Advertising", "Expense", "AdvertisingPromotional", "6000"),
    ("8", "Bank Charges", "Expense", "BankCharges", "6010"),
    ("10", "Dues & Subscriptions", "Expense", "DuesSubscriptions", "6020"),
    ("11", "Insurance", "Expense", "Insurance", "6030"),
    ("13", "Meals and Entertainment", "Expense", "EntertainmentMeals", "6040"),
    ("15", "Office Expenses", "Expense", "OfficeGeneralAdministrativeExpenses", "6050"),
    ("16", "Legal & Professional Fees", "Expense", "LegalProfessionalFees", "6060"),
    ("17", "Rent or Lease", "Expense", "RentOrLeaseOfBuildings", "6070"),
    ("18", "Repair & Maintenance", "Expense", "RepairMaintenance", "6080"),
    ("19", "Supplies", "Expense", "SuppliesMaterials", "6090"),
    ("20", "Taxes & Licenses", "Expense", "TaxesPaid", "6100"),
    ("21", "Travel", "Expense", "Travel", "6110"),
    ("22", "Travel Meals", "Expense", "TravelMeals", "6120"),
    ("23", "Utilities", "Expense", "Utilities", "6130"),
    ("24", "Automobile", "Expense", "Auto", "6140"),
    ("25", "Fuel", "Expense", "Auto", "6150"),
    ("26", "Telephone", "Expense", "Utilities", "6160"),
    ("27", "Software", "Expense", "OtherMiscellaneousServiceCost", "6170"),
    ("28", "Shipping and delivery expense", "Expense", "ShippingFreightDelivery", "6180"),
    ("29", "Stationery & Printing", "Expense", "OfficeGeneralAdministrativeExpenses", "6190"),
    ("30", "Uncategorized Expense", "Expense", "OtherMiscellaneousServiceCost", "6999"),
    ("31", "Inventory Asset", "Other Current Asset", "Inventory", "1300"),
    ("32", "Accounts Payable (A/P)", "Accounts Payable", "AccountsPayable", "2000"),
    ("33", "Furniture and Equipment", "Fixed Asset", "FurnitureAndFixtures", "1500"),
    # What a paid receipt (Purchase) is paid from: a bank and a credit card account.
    ("35", "Checking", "Bank", "Checking", "1010"),
    ("41", "Mastercard", "Credit Card", "CreditCard", "2100"),
]
# QuickBooks Online sales: the customers and the products/services a sales invoice line posts to (not
# lists Dext Connect keeps yet: the sandbox checks a sales invoice's CustomerRef and ItemRef against
# these). Ids and names as in Intuit's sample company.
QBO_US_CUSTOMERS = {"1": "Amy's Bird Sanctuary", "2": "Bill's Windsurf Shop", "3": "Cool Cars"}
QBO_US_ITEMS = {"1": "Services", "2": "Hours"}
# QuickBooks Online US: sales-tax codes (TaxCode) and the agency rates behind them (TaxRate).
# (Id, Name, Description, taxable)
QBO_US_TAX_CODES = [
    ("TAX", "TAX", "Taxable sales", True),
    ("NON", "NON", "Non-taxable sales", False),
    ("3", "California", "California state and county", True),
    ("4", "Out of state", "Out-of-state sales", False),
]
US_SUPPLIERS = [
    "Staples",
    "Office Depot",
    "Amazon Business",
    "FedEx",
    "UPS",
    "USPS",
    "Verizon Wireless",
    "AT&T",
    "Comcast Business",
    "PG&E",
    "Delta Air Lines",
    "United Airlines",
    "Marriott",
    "Hilton",
    "Uber",
    "Lyft",
    "Chevron",
    "Shell",
    "Home Depot",
    "Lowe's",
    "Costco Wholesale",
    "Intuit",
    "Adobe Inc.",
    "Google LLC",
    "Dropbox, Inc.",
    "Slack Technologies",
    "Zoom Video Communications",
    "WeWork",
    "State Farm",
    "Cintas",
    "Grainger",
    "Squeaky Clean Car Wash",
]

# Which sandbox organisation gets which lists: (provider, org id) -> (chart, demo suppliers).
DEMO_SUPPLIERS = {
    "3f1e8c2a-6b0d-4c59-9a51-0c1d2e3f4a01": [  # Acme Ltd (Demo): costs/demo.py ACME_SUPPLIERS, customers
        "Acme Supplies",
        "Northwind Traders Ltd",
        "Contoso Energy",
        "Fabrikam Print",
        "Tailspin Travel",
        "Litware Software Ltd",
        "Adventure Works Catering",
        "Proseware Telecom",
    ],
    "3f1e8c2a-6b0d-4c59-9a51-0c1d2e3f4a02": ["Hooli Cloud", "Vandelay Industries", "Soylent Foods"],
    "3f1e8c2a-6b0d-4c59-9a51-0c1d2e3f4a04": ["Chotchkie's", "Penetrode Paper"],
    "9341453000000002": ["Hooli Cloud", "Vandelay Industries", "Soylent Foods"],
    "9341453000000003": ["Chotchkie's", "Penetrode Paper"],
    "00801ACMEDEMO01": ["Acme Supplies", "Northwind Traders", "Contoso Energy", "Tailspin Travel"],
    "00801GLOBEXDM02": ["Hooli Cloud", "Vandelay Industries"],
}
# A Bill.com organisation mirrors the chart of the accounting software it syncs with.
BILLCOM_MIRRORS = {"00801ACMEDEMO01": "uk", "00801GLOBEXDM02": "us"}


def _uuid(*parts: str) -> str:
    return str(uuid.uuid5(_NS, ":".join(parts)))


def _billcom_id(prefix: str, org_id: str, n: int) -> str:
    """Bill.com ids: three-character type prefix ("0ca" chart of accounts, "009" vendor), then 16."""
    return f"{prefix}{uuid.uuid5(_NS, f'{org_id}:{prefix}:{n}').hex[:17].upper()}"


def chart_for(provider: str, org_id: str) -> str:
    if provider == "xero":
        return "uk"
    if provider == "billcom":
        return BILLCOM_MIRRORS.get(org_id, "us")
    return "us"


def entries_for(provider: str, org_id: str) -> list[dict]:
    """The organisation's seeded lists, provider-neutral: dicts with kind, entry_id, code, name, status
    and `data` (the provider-specific fields its API answers with)."""
    chart = chart_for(provider, org_id)
    rows: list[dict] = []
    suppliers = DEMO_SUPPLIERS.get(org_id, []) + (UK_SUPPLIERS if chart == "uk" else US_SUPPLIERS)
    if provider == "xero":
        for code, name, type_, tax in XERO_UK_ACCOUNTS:
            rows.append(
                {
                    "kind": "account",
                    "entry_id": _uuid(org_id, "account", code),
                    "code": code,
                    "name": name,
                    "data": {"Type": type_, "TaxType": tax, "Class": _xero_class(type_)},
                }
            )
        for tax_type, name, rate, expenses, revenue in XERO_UK_TAX_RATES:
            rows.append(
                {
                    "kind": "tax_rate",
                    "entry_id": tax_type,
                    "code": tax_type,
                    "name": name,
                    "data": {"rate": rate, "CanApplyToExpenses": expenses, "CanApplyToRevenue": revenue},
                }
            )
        for name in suppliers:
            rows.append(
                {
                    "kind": "supplier",
                    "entry_id": _uuid(org_id, "contact", name),
                    "code": "",
                    "name": name,
                    "data": {"IsSupplier": True},
                }
            )
    elif provider in ("qbo", "qbd"):
        for id_, name, type_, subtype, number in QBO_US_ACCOUNTS:
            rows.append(
                {
                    "kind": "account",
                    "entry_id": id_ if provider == "qbo" else f"8000{id_:0>4}-1700000000",
                    "code": number,
                    "name": name,
                    "data": {"AccountType": type_, "AccountSubType": subtype},
                }
            )
        for id_, name, description, taxable in QBO_US_TAX_CODES:
            rows.append(
                {
                    "kind": "tax_rate",
                    "entry_id": id_ if provider == "qbo" else f"9000{len(rows):0>4}-1700000000",
                    "code": name if provider == "qbo" else name[:3].upper(),
                    "name": name,
                    "data": {"Description": description, "Taxable": taxable},
                }
            )
        for n, name in enumerate(suppliers, start=1):
            rows.append(
                {
                    "kind": "supplier",
                    "entry_id": str(55 + n) if provider == "qbo" else f"7000{n:0>4}-1700000000",
                    "code": "",
                    "name": name,
                    "data": {},
                }
            )
    elif provider == "billcom":
        accounts = (
            [(code, name, type_) for code, name, type_, _ in XERO_UK_ACCOUNTS]
            if chart == "uk"
            else [
                (number, name, type_)
                for _, name, type_, _, number in QBO_US_ACCOUNTS
                # The sandbox's Bill.com mirror keeps the chart a bill is coded to, as before the
                # QuickBooks chart gained its bank and credit card accounts.
                if type_ not in ("Bank", "Credit Card")
            ]
        )
        for n, (code, name, type_) in enumerate(accounts, start=1):
            rows.append(
                {
                    "kind": "account",
                    "entry_id": _billcom_id("0ca", org_id, n),
                    "code": code,
                    "name": name,
                    "data": {"accountType": type_},
                }
            )
        for n, name in enumerate(suppliers, start=1):
            rows.append(
                {
                    "kind": "supplier",
                    "entry_id": _billcom_id("009", org_id, n),
                    "code": "",
                    "name": name,
                    "data": {},
                }
            )
    for row in rows:
        row.setdefault("status", "ACTIVE")
    return rows


def _xero_class(type_: str) -> str:
    if type_ in {"REVENUE", "SALES", "OTHERINCOME"}:
        return "REVENUE"
    if type_ in {"DIRECTCOSTS", "OVERHEADS", "DEPRECIATN", "EXPENSE"}:
        return "EXPENSE"
    if type_ in {"CURRLIAB", "LIABILITY", "TERMLIAB"}:
        return "LIABILITY"
    return "ASSET"


@transaction.atomic
def ensure_lists(provider: str, org_id: str) -> None:
    """Create the organisation's lists if it has none yet (lazily, like data.ensure_seeded)."""
    from .models import SandboxListEntry

    if SandboxListEntry.objects.filter(provider=provider, org_id=org_id).exists():
        return
    SandboxListEntry.objects.bulk_create(
        [
            SandboxListEntry(
                provider=provider,
                org_id=org_id,
                kind=row["kind"],
                entry_id=row["entry_id"],
                code=row["code"],
                name=row["name"],
                status=row["status"],
                data=row["data"],
                updated_at=SEEDED_AT,
            )
            for row in entries_for(provider, org_id)
        ],
        ignore_conflicts=True,
    )
