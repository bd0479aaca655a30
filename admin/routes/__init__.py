"""One APIRouter per admin resource, gathered by admin.api.make_admin_router."""
