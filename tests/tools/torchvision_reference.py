#!/usr/bin/python3
"""Writes tests/Augment.Tests/Fixtures/torchvision-ops.json: torchvision's functional ops on a small generated image,
the reference values our Augment operations are tested against. Made with Debian's python3-torchvision 0.14.1
(torch 1.13.1): /usr/bin/python3 tests/tools/torchvision_reference.py  (from the repository root)."""
import json
import torch
import torchvision
import torchvision.transforms.functional as F

W, H = 7, 5
img = torch.tensor([[[(x * 37 + y * 23 + c * 71) % 256 for x in range(W)] for y in range(H)] for c in range(3)], dtype=torch.uint8)
f = img.float() / 255  # C, H, W in [0, 1]


def hwc(t):
    return [round(float(v), 6) for v in t.permute(1, 2, 0).reshape(-1)]


out = {
    "torchvision": torchvision.__version__,
    "width": W, "height": H,
    "input": [int(v) for v in img.permute(1, 2, 0).reshape(-1)],
    "brightness_1.3": hwc(F.adjust_brightness(f, 1.3)),
    "contrast_0.6": hwc(F.adjust_contrast(f, 0.6)),
    "saturation_1.7": hwc(F.adjust_saturation(f, 1.7)),
    "hue_0.15": hwc(F.adjust_hue(f, 0.15)),
    "hue_-0.4": hwc(F.adjust_hue(f, -0.4)),
    "grayscale": hwc(F.rgb_to_grayscale(f, num_output_channels=3)),
    "blur_k5_s1.2": hwc(F.gaussian_blur(f, [5, 5], [1.2, 1.2])),
    "solarize_0.5": hwc(F.solarize(f, 0.5)),
    "hflip": hwc(F.hflip(f)),
    # resized crop of rows 1..4, columns 2..6 (top 1, left 2, height 4, width 5), on the uint8 image as the pipeline does
    "crop_up_9x6": hwc(F.resized_crop(img, 1, 2, 4, 5, [6, 9], antialias=True).float() / 255),
    "crop_down_2x3": hwc(F.resized_crop(img, 0, 0, 5, 7, [2, 3], antialias=True).float() / 255),
}
with open("tests/Augment.Tests/Fixtures/torchvision-ops.json", "w") as fh:
    json.dump(out, fh)
print("wrote tests/Augment.Tests/Fixtures/torchvision-ops.json")
