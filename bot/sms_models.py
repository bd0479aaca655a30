"""SMS delivery, opt-out, meeting and reminder tables. Filled in by the SMS work (issue 5)."""
