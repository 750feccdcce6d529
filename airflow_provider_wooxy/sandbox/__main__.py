"""``python -m airflow_provider_wooxy.sandbox``: run the sandbox until SIGINT or SIGTERM."""

import sys

from airflow_provider_wooxy.sandbox.server import main

sys.exit(main())
