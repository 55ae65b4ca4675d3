"""Accounts, tenants, memberships and invitations; the tenant scoping every app relies on."""
