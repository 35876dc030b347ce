"""Fetchers: they return records and never touch the database."""
