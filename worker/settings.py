"""`arq worker.settings.WorkerSettings` works too; `switchboard worker` is the usual way."""

from backend.config import get_settings
from backend.core.context import MEDIA_QUEUE, SEND_QUEUE
from worker.main import settings_class

# Run all three: `arq worker.settings.WorkerSettings`, `…SendWorkerSettings`, `…MediaWorkerSettings`.
WorkerSettings = settings_class(get_settings())
SendWorkerSettings = settings_class(get_settings(), SEND_QUEUE)
MediaWorkerSettings = settings_class(get_settings(), MEDIA_QUEUE)
