"""Staff: coordinators, editors and admins, their API keys, their inbox sessions, the audit
log of who saw and changed what, and the rate limits kept in the database (limits.py).
"""
