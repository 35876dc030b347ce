"""Fetch → resolve → save: the daily snapshot, archive backfill, panel import and the scheduler;
every write to the store goes through here and refreshes the top cache after it lands."""
