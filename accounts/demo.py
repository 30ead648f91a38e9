"""Demo data for the accounts app. Idempotent: running it again changes nothing."""

from __future__ import annotations

from django.db import transaction

from .models import Account, Membership, Practice, PracticeMembership, PracticeRole, Role, User

DEMO_PASSWORD = "demo-pass-2026"

BUSINESSES = [
    # (name, slug, owner, other users)
    ("Acme Ltd", "acme", "admin@acme.test", [("staff@acme.test", Role.STANDARD)]),
    ("Globex Inc", "globex", "admin@globex.test", []),
    ("Initech", "initech", "admin@initech.test", []),
]
PRACTICE = ("Ledger & Co", "ledger")
PRACTICE_USERS = [
    ("partner@ledger.test", PracticeRole.PRACTICE_ADMIN, []),
    ("bookkeeper@ledger.test", PracticeRole.BOOKKEEPER, ["acme", "globex"]),
]

DEMO_LOGINS = [
    ("admin@acme.test", "Admin of Acme Ltd (owner)"),
    ("staff@acme.test", "Standard user of Acme Ltd"),
    ("admin@globex.test", "Admin of Globex Inc (owner)"),
    ("admin@initech.test", "Admin of Initech (owner)"),
    ("partner@ledger.test", "Practice admin of Ledger & Co (all three clients)"),
    ("bookkeeper@ledger.test", "Bookkeeper at Ledger & Co (Acme Ltd and Globex Inc)"),
]


def _user(email: str) -> User:
    user = User.objects.filter(email=email).first()
    if user is None:
        user = User.objects.create_user(email=email, password=DEMO_PASSWORD)
    return user


@transaction.atomic
def seed() -> dict[str, Account]:
    accounts: dict[str, Account] = {}
    for name, slug, owner_email, others in BUSINESSES:
        owner = _user(owner_email)
        account, _ = Account.objects.get_or_create(slug=slug, defaults={"name": name, "owner": owner})
        Membership.objects.get_or_create(account=account, user=owner, defaults={"role": Role.ADMIN})
        for email, role in others:
            Membership.objects.get_or_create(account=account, user=_user(email), defaults={"role": role})
        accounts[slug] = account
    practice, _ = Practice.objects.get_or_create(slug=PRACTICE[1], defaults={"name": PRACTICE[0]})
    practice.clients.add(*accounts.values())
    for email, role, assigned in PRACTICE_USERS:
        membership, created = PracticeMembership.objects.get_or_create(
            practice=practice, user=_user(email), defaults={"role": role}
        )
        if created:
            membership.assigned_clients.set([accounts[s] for s in assigned])
    return accounts
