"""facecolab: five face-segmentation projects over one small Keras 3 library.

Importing the package is cheap: TensorFlow is imported only by the modules that need it.
"""

__version__ = "0.1.0"
