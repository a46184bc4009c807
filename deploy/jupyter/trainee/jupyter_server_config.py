"""Trainees' servers: kernels forked from the server's kernel zygote, where it has one.

A server the hub forked from its zygote (deploy/zygote_spawner.py, course/server_zygote.py) has
already forked its own kernel zygote before reading this file: its kernels are then forks of that
process (course/kernel_zygote.py), which shares the kernel's imports with every other trainee's.
Any other server (started the stock way, `make lab`) starts kernels as jupyter_client does.
"""

import sys

c = get_config()  # noqa: F821 (provided by traitlets when it loads this file)

_kernel_zygote = sys.modules.get("course.kernel_zygote")
if _kernel_zygote is not None and _kernel_zygote.CLIENT is not None:
    c.KernelProvisionerFactory.default_provisioner_name = "upstream-forked-kernel"
