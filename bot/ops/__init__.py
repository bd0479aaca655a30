"""Operations: Prometheus metrics, JSON logs and readiness checks.

A runtime basic like bot.clock and bot.db: it imports no feature, so the directory, the core,
cases and SMS may each count their events here with one line.
"""
