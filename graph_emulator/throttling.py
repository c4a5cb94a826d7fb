"""Throttling as Graph does it: past a limit of calls in a sliding window, a call answers
429 TooManyRequests with Retry-After (whole seconds until the window has room, at least 1),
and the next call that fits is served again. Off while the limit is 0.

Each `$batch` sub-request counts as one call (Graph evaluates them one by one); the `$batch`
envelope itself does not.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque


class Throttle:
    def __init__(self, limit: int = 0, window_ms: int = 1000) -> None:
        self.limit = limit
        self.window_ms = window_ms
        self._served: deque[float] = deque()  # monotonic times of the calls in the window
        self._lock = threading.Lock()

    def configure(self, limit: int, window_ms: int) -> None:
        with self._lock:
            self.limit, self.window_ms = limit, window_ms
            self._served.clear()

    def retry_after(self) -> int | None:
        """None: the call may go on (and is counted). Else the seconds to wait."""
        with self._lock:
            if self.limit <= 0:
                return None
            now, window = time.monotonic(), self.window_ms / 1000
            while self._served and self._served[0] <= now - window:
                self._served.popleft()
            if len(self._served) < self.limit:
                self._served.append(now)
                return None
            return max(1, math.ceil(self._served[0] + window - now))
