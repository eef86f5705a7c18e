"""Networks of the paper's experiments (§5, supplementary §8), one module each. Sizes are configurable; defaults are
the paper's."""

from .autoencoder import AutoEncoder
from .mlp import MLP
from .vgg import VGGLike
from .wide_resnet import WideResNet
from .unet import UNet

__all__ = ["MLP", "AutoEncoder", "VGGLike", "WideResNet", "UNet"]
