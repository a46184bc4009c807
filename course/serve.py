"""Start a course server with less start-up work: ``python -m course.serve [lab] [ARGS…]``.

``python -m course.serve ARGS…`` runs ``jupyterhub-singleuser ARGS…`` (what the hub starts for
each trainee), ``python -m course.serve lab ARGS…`` runs ``jupyter lab ARGS…`` (``make lab``).

The one difference from the stock commands: jsonschema's optional IRI format checker is not
loaded. Importing it builds a parser grammar, about a CPU-second, close to half of what a server
costs to start (benchmarks/server_cost.py), and no schema a Jupyter server validates uses the
``iri`` formats; without it jsonschema leaves those formats unchecked. On a hub where a class
starts at once, that second is paid by every trainee on the same two cores.
"""

from __future__ import annotations

import sys


def skip_iri_checker() -> None:
    # None in sys.modules makes `import rfc3987_syntax` fail, and jsonschema then goes without it.
    sys.modules.setdefault("rfc3987_syntax", None)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    skip_iri_checker()
    if argv[:1] == ["lab"]:
        from jupyterlab.labapp import LabApp

        sys.argv = ["jupyter-lab", *argv[1:]]
        LabApp.launch_instance()
        return 0
    from jupyterhub.singleuser import main as singleuser

    sys.argv = ["jupyterhub-singleuser", *argv]
    return singleuser() or 0


if __name__ == "__main__":
    sys.exit(main())
