"""Admin API for directory editors and coordinators (FastAPI, /admin/api/v1)."""
