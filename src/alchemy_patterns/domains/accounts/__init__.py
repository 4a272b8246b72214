"""Accounts: users, their optional profile, and how they sign in."""
