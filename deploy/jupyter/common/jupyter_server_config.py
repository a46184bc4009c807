"""Every course server: shut down idle kernels when the hub asks for it.

The hub sets UPSTREAM_KERNEL_IDLE_SECONDS (deploy/upstream_hub.kernel_culling_environment): a
kernel with no activity for that long is shut down, and with it the memory its data and imports
hold; the notebook stays as saved. Without the variable (`make lab` on a laptop) nothing is culled.
"""

import os

c = get_config()  # noqa: F821 (provided by traitlets when it loads this file)

idle = int(os.environ.get("UPSTREAM_KERNEL_IDLE_SECONDS", "0") or 0)
if idle > 0:
    c.MappingKernelManager.cull_idle_timeout = idle
    c.MappingKernelManager.cull_interval = min(300, idle)
    c.MappingKernelManager.cull_connected = True  # an open but unused tab keeps nothing alive
