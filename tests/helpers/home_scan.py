"""Run as a script by tests/test_hub_zygote.py: import the zygote's modules with HOME=A (this
process's), take a fork's environment with HOME=B (argv[1]), and print (JSON) every module global
and trait default of anything imported that still names A."""
import json
import os
import sys

from traitlets import HasTraits

from course import forking, serve
from course import server_zygote as z

serve.skip_iri_checker()
HOME_A = os.environ["HOME"]
forking.preload(z.SERVER_MODULES)
forking.preload(z.KERNEL_MODULES)
env = dict(os.environ, HOME=sys.argv[1])
forking.take_environment(env, {})


def names_a(value, depth=0):
    if isinstance(value, bytes):
        value = os.fsdecode(value)
    if isinstance(value, str):
        return HOME_A in value
    if depth < 2 and isinstance(value, (list, tuple, set, frozenset)):
        return any(names_a(v, depth + 1) for v in value)
    if depth < 2 and isinstance(value, dict):
        return any(names_a(v, depth + 1) for v in value.values())
    return False



found = []
for name, mod in list(sys.modules.items()):
    if mod is None or name in ("__main__", "__mp_main__"):
        continue
    for attr, value in list(vars(mod).items()):
        if names_a(value):
            found.append(f"{name}.{attr}")
        if isinstance(value, type) and issubclass(value, HasTraits) and value.__module__ == name:
            for tname, trait in value.class_traits().items():
                if names_a(getattr(trait, "default_value", None)):
                    found.append(f"{name}.{attr}.{tname} (trait)")
# matplotlib finds (and caches) its configuration and cache folders from HOME, and reads its
# rcParams there, when imported and later: the zygote must leave it to each kernel
found += [f"{name} (imported)" for name in ("matplotlib", "matplotlib_inline") if name in sys.modules]
print(json.dumps(sorted(set(found))))
