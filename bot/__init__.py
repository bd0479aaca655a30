"""Familjeguiden: the conversation core, settings, database and composition root."""
