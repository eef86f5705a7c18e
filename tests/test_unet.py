"""The U-Net of §5.3: shapes, parameter count by hand, skip connections, errors."""
import pytest
import torch
import torch.nn as nn

from scpviz.models import UNet


def _unet_params(c_in, k, base, depth):
    conv = lambda a, b, s=3: a * b * s * s + b     # noqa: E731
    widths = [base * 2 ** i for i in range(depth + 1)]
    n = conv(c_in, widths[0]) + conv(widths[0], widths[0])
    for i in range(depth):                           # down: double conv
        n += conv(widths[i], widths[i + 1]) + conv(widths[i + 1], widths[i + 1])
    for i in range(depth):                           # up: reduce, then double conv on the concatenation
        n += conv(widths[i + 1], widths[i]) + conv(2 * widths[i], widths[i]) + conv(widths[i], widths[i])
    return n + conv(widths[0], k, 1)


@pytest.mark.parametrize("base,depth", [(4, 2), (8, 3), (64, 4)])
def test_unet_shapes_and_parameter_count(base, depth):
    net = UNet(in_channels=3, n_classes=13, base=base, depth=depth, seed=0)
    assert sum(p.numel() for p in net.parameters()) == _unet_params(3, 13, base, depth)
    assert all(isinstance(m, (nn.Conv2d,)) for m in net.modules() if any(p.requires_grad for p in m.parameters(False)))
    if base <= 8:
        x = torch.rand(2, 3, 2 ** depth * 3, 2 ** depth * 5)
        assert net(x).shape == (2, 13, *x.shape[2:])


def test_unet_uses_its_skip_connections_and_names_bad_input():
    net = UNet(base=4, depth=2, seed=0).eval()
    x = torch.rand(1, 3, 16, 16)
    y = net(x)
    x2 = x.clone()
    x2[..., :2, :2] += 1.0                    # a local change moves the output locally most (skips carry detail)
    d = (net(x2) - y).abs().sum(1)[0]
    assert d[:4, :4].mean() > 5 * d[8:, 8:].mean()
    with pytest.raises(ValueError, match="divisible by 4"):
        net(torch.rand(1, 3, 18, 16))
    with pytest.raises(ValueError, match="depth"):
        UNet(depth=0)
    a, b = UNet(base=2, depth=1, seed=5), UNet(base=2, depth=1, seed=5)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
