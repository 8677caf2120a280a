"""sketch2color: anime line-art colorization with conditional GANs on TensorFlow / Keras 3.

Importing the package is cheap and has no side effects; TensorFlow is imported by the
submodules that need it (``sketch2color.data``, ``sketch2color.models``, ...).
"""

__version__ = "0.1.0"
