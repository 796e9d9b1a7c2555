"""The batteries app with its state in Redis, for `aiokoa run apps.batteries_redis:app
--workers N`: each worker imports this module and makes its own Redis client, for the Redis
whose URL the scale scenario puts in the environment."""

from __future__ import annotations

import os

from scenarios import REDIS_URL_ENV

from apps.aiokoa_app import build_batteries_on_redis

app = build_batteries_on_redis(os.environ[REDIS_URL_ENV])
