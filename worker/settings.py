"""`arq worker.settings.WorkerSettings` works too; `switchboard worker` is the usual way."""

from backend.config import get_settings
from worker.main import settings_class

WorkerSettings = settings_class(get_settings())
