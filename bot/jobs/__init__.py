"""What runs beside HTTP, and how several instances share it.

Periodic jobs run once per interval across all instances (a lease row in `job_lease`),
continuous workers run everywhere (the SMS queue has its own row leases), and a task that
must run in one place at a time (Telegram long polling) runs where an election put it: a
PostgreSQL advisory lock, or a lock file beside an SQLite database. Imports no feature.
"""
