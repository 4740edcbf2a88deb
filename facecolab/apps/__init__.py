"""Applications built on the library: each module is a script with ``main(argv)``.

``face_parsing``: parse a face photo and save the labels as a mask, overlay, side-by-side or
per-part picture (project 2's ``test.py``). ``recolour``: change lip or hair colour inside a
predicted mask (project 2's experiment). ``portrait``: person mask and background replacement
(project 5's ``test.py``). ``webcam``: the same in real time from a camera, a video file or a
folder of frames (project 5's ``webcam.py``). ``common``: images, palettes and the apps'
command-line conventions. ``inference``: the apps' model side (a model with its spec, face
crops by default (``--no-face-crop``), P(person), the webcam loop), which a script's ``main``
imports once its arguments are checked, so importing a script imports no Keras. ``demo``: the
result page of every shipped model (``scripts/demo.sh``).
``colab``: the notebooks' environment report and checksummed dataset download.

May import every layer below ``cli``. Nothing is imported here: running one app imports no
other.
"""
