"""Staff: coordinators, editors and admins, their API keys, and the audit log of who saw
and changed what.
"""
