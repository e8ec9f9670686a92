"""`arq worker.settings.WorkerSettings` works too; `switchboard worker` is the usual way."""

from backend.config import get_settings
from backend.core.context import SEND_QUEUE
from worker.main import settings_class

# Run both: `arq worker.settings.WorkerSettings` and `arq worker.settings.SendWorkerSettings`.
WorkerSettings = settings_class(get_settings())
SendWorkerSettings = settings_class(get_settings(), SEND_QUEUE)
