"""The conversation core: one dialogue for every channel (Telegram, SMS, web chat).

Conversations and their messages, reading a message (intents), the dialogue steps, replies
and texts, the DTOs and ports the channels and the handoff plug into. Imports no aiogram,
twilio, FastAPI or Starlette.
"""
