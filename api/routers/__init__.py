"""One APIRouter per resource: quotes, reservations, stations, and operations (health, metrics)."""
