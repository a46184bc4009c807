"""Maintainers' tools: run with ``python -m tools.NAME`` (or the Makefile target) from the
repository root. Never shipped to trainees, and never imported by ``course``.

* ``tools.notebooks``: check, format and release the MyST notebook sources;
* ``tools.trainee_branch``: commit the trainee distribution as the ``trainee`` branch;
* ``tools.rehash`` (``make rehash``): rewrite the dataset manifest's hashes after a deliberate edit;
* ``tools.scenario`` (``make scenario``): regenerate the fictional scenario's data files, and hold
  the instructors' answer key (:func:`tools.scenario.incident_truth`);
* ``tools.vendor`` (``make vendor``): rebuild the vendored Leaflet assets from npm;
* ``tools.world_outlines`` (``make world-outlines``): rebuild the world outlines from npm.

``tools.npm`` is the one place that fetches a pinned npm tarball and checks its integrity.
"""
