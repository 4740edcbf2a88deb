"""The measures layer: numbers from label maps and probabilities.

``metrics`` (pure numpy: confusion matrix, IoU, F1, summaries and tables), ``losses``
(Keras losses: Dice, Jaccard, Lovász, focal, their weighted sums), ``keras_metrics`` (thin
Keras wrappers over ``metrics``' definitions) and ``score`` (label-map folders against ground
truth, the F1 protocol of ``f1_score.py``).

May import: the ground floor (``constants``, ``fsutil``, ``console``) and ``facecolab.data``.
``metrics`` and ``score`` import no Keras, so ``f1_score.py`` starts fast.
"""
