"""Thin channel adapters: Telegram, SMS (Twilio), the web chat and the coordinator inbox."""
