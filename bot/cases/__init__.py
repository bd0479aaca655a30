"""Cases (ärenden): the handoff to a coordinator (lots).

Consent, the case lifecycle, office hours, the coordinators' actions, relay to the Telegram
group, overdue and retention jobs, and statistics.
"""
