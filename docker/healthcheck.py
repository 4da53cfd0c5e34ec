"""The container's HEALTHCHECK: exit 0 when ``GET /healthz`` on this container answers 200, else 1.

Python's standard library only (the slim image has no curl). The port is the server's own ``PORT``.
"""

import os
import sys
import urllib.request

URL = f"http://127.0.0.1:{os.environ.get('PORT', '3978')}/healthz"

try:
    with urllib.request.urlopen(URL, timeout=4) as response:
        sys.exit(0 if response.status == 200 else 1)
except OSError as exc:
    print(f"healthcheck: {URL}: {exc}", file=sys.stderr)
    sys.exit(1)
