"""The container health probe: `python -m engage.probe live|ready`.

Asks the web server on 127.0.0.1:8000 for /health/<kind>/ with a Host header the settings allow (the
compose default allows only `localhost`, not 127.0.0.1) and as if through the TLS proxy, so neither
ALLOWED_HOSTS nor SECURE_SSL_REDIRECT refuses the probe. Exit status 0 when healthy, 1 otherwise.
"""

import os
import sys
import urllib.error
import urllib.request


def probe_host(allowed_hosts: list[str]) -> str:
    for host in allowed_hosts:
        host = host.lstrip(".")
        if host and host != "*":
            return host
    return "localhost"


def main(argv: list[str]) -> int:
    kind = argv[1] if len(argv) > 1 else "live"
    port = argv[2] if len(argv) > 2 else "8000"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "engage.settings")
    from django.conf import settings

    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/health/{kind}/?format=text",
        headers={"Host": probe_host(settings.ALLOWED_HOSTS), "X-Forwarded-Proto": "https"},
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            print(response.read().decode(errors="replace").strip())
            return 0
    except (urllib.error.URLError, OSError) as exc:
        print(f"unhealthy: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
