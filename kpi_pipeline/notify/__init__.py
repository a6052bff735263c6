"""Notifications: the report to stakeholders, failure notices to data engineers (SMTP, webhook)."""
