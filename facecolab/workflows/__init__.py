"""The workflows layer: what a command does from start to end.

``train`` (config → run folder, with ``divergence``'s guard), ``evaluate`` (a model on a
dataset → metrics), ``predict`` (images → label-map files), ``uncertainty`` (MC dropout),
``video`` (frame sources and sinks) and ``sample_mode`` (each project's config on the bundled
sample, for the notebooks and the demo).

May import every layer below: the ground floor, ``data``, ``measures``, ``models``,
``config``, ``modelfiles`` and ``viz``. Never ``apps`` or ``cli``.
"""
