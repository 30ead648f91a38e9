from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from .models import Account, ActivityEntry, Invitation, Membership, Practice, PracticeMembership, User


class UnscopedAdminMixin:
    """Kept so ModelAdmins written against it still import: the whole admin site now runs outside the
    scopes, views and rendering alike (accounts/admin_site.py), so a ModelAdmin needs nothing more."""


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ["email"]
    list_display = ["email", "full_name", "is_staff", "is_active"]
    search_fields = ["email", "full_name"]
    fieldsets = (
        (None, {"fields": ("email", "password", "full_name")}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    raw_id_fields = ["user"]


@admin.register(Account)
class AccountAdmin(UnscopedAdminMixin, admin.ModelAdmin):
    list_display = ["name", "slug", "owner", "locale", "created_at"]
    search_fields = ["name", "slug"]
    raw_id_fields = ["owner"]

    def get_inlines(self, request, obj):
        return [MembershipInline]


@admin.register(Practice)
class PracticeAdmin(admin.ModelAdmin):
    list_display = ["name", "slug"]
    filter_horizontal = ["clients"]


@admin.register(PracticeMembership)
class PracticeMembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "practice", "role"]
    filter_horizontal = ["assigned_clients"]


@admin.register(ActivityEntry)
class ActivityEntryAdmin(UnscopedAdminMixin, admin.ModelAdmin):
    list_display = ["created_at", "account", "actor", "action", "summary"]
    list_filter = ["action"]


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    """Read-mostly: an invitation is made and ended on the account's Users page (its token exists
    only in the e-mail; a hash is stored)."""

    list_display = ["email", "account", "role", "invited_by", "created_at", "expires_at", "accepted_at"]
    list_filter = ["role"]
    search_fields = ["email", "account__name"]
    raw_id_fields = ["account", "invited_by", "accepted_by"]
    readonly_fields = ["token_hash"]
