"""SMS: inbound keywords (STOPP, START, HJÄLP), the durable send queue, GSM-7 segments,
phone numbers and the Twilio sender.
"""
