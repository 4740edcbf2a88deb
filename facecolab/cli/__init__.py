"""The command lines: ``main`` (``facecolab <command>``, a lazy dispatch: each subcommand
imports its modules only when it runs, so ``facecolab --help`` loads no Keras) and
``prepare`` (``facecolab prepare`` and ``data_prep/load_data.py``).

The top layer: may import anything of the package; nothing imports it (but
``facecolab.__main__``).
"""
