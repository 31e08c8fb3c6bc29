"""Procedural synthetic street scenes for the demo model and the demo clip.

Everything here is drawn with OpenCV/numpy from a seed: no downloaded assets.
The same renderer produces the training images (:mod:`gridsight.synth.dataset`)
and the scripted demo clip (:mod:`gridsight.synth.clip`), so a model trained on
one recognises the other. These scenes look nothing like real camera footage:
weights trained on them are for exercising the pipeline end to end, not for
deployment.
"""

from gridsight.synth.render import CLASSES, OBJECTS, register_object

__all__ = ["CLASSES", "OBJECTS", "register_object"]
