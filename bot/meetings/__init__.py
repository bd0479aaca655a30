"""Meetings (network meetings, follow-ups) and their SMS reminders: booking, the reminder
plan (quiet hours, summer time), the worker, and participants' answers.
"""
