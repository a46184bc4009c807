"""nbgrader on a cluster: the exchange is the ngshare service, not a shared folder.

Loaded on Kubernetes only (the single-user image puts this directory on JUPYTER_CONFIG_PATH when
UPSTREAM_NGSHARE_URL is set; see deploy/k8s/values.yaml).
"""

import os

from ngshare_exchange import configureExchange

c = get_config()  # noqa: F821 (provided by traitlets when it loads this file)

configureExchange(c, os.environ["UPSTREAM_NGSHARE_URL"])
