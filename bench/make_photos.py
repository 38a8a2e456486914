"""Makes the tutorial benchmark's photo set offline, from the sample photos that ship inside scikit-image's wheel.

Four classes, one source photo each (scikit-image's ``data`` folder; nothing is downloaded):

- ``astronaut``: ``astronaut.png``, Eileen Collins, NASA, 512 x 512;
- ``cat``: ``chelsea.png``, Stéfan van der Walt's cat, 451 x 300;
- ``coffee``: ``coffee.png``, a cup of coffee (Rachel Michetti), 600 x 400;
- ``rocket``: ``rocket.jpg``, a SpaceX Falcon 9 launch (public domain), 640 x 427.

Each image is a seeded random square crop whose side is 25% to 70% of the photo's shorter side, at a random
position, mirrored left to right with probability 1/2, resized to ``--size`` pixels (Lanczos) and written as a JPEG
(quality 90). The set is written to a temporary folder and renamed into place, with a ``manifest.json`` recording the
parameters and each source file's SHA-256.

Limitations: every image of a class comes from the same photo, so the classes are far easier to tell apart than
real categories, and test crops overlap training crops of the same photo (near-duplicates at other scales and
offsets). It measures speed, and whether both frameworks learn the same thing from the same pixels; its accuracies
say nothing about how either generalises.

Usage: python bench/make_photos.py --out .cache/bench-photos [--per-class 38] [--size 224] [--seed 7]
"""

import argparse
import hashlib
import json
import os
import random
import shutil

SOURCES = {
    "astronaut": "astronaut.png",
    "cat": "chelsea.png",
    "coffee": "coffee.png",
    "rocket": "rocket.jpg",
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--per-class", type=int, default=38)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    import skimage
    from PIL import Image

    data_dir = os.path.join(os.path.dirname(skimage.__file__), "data")
    rng = random.Random(args.seed)
    tmp = f"{args.out}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    manifest = {
        "generator": "bench/make_photos.py",
        "skimage": skimage.__version__,
        "perClass": args.per_class,
        "size": args.size,
        "seed": args.seed,
        "cropSide": [0.25, 0.7],
        "flip": 0.5,
        "jpegQuality": 90,
        "sources": {},
    }
    for label, file_name in SOURCES.items():
        path = os.path.join(data_dir, file_name)
        with open(path, "rb") as f:
            manifest["sources"][label] = {"file": file_name, "sha256": hashlib.sha256(f.read()).hexdigest()}
        with Image.open(path) as opened:
            photo = opened.convert("RGB")
        width, height = photo.size
        os.makedirs(os.path.join(tmp, label))
        for i in range(args.per_class):
            side = round(min(width, height) * rng.uniform(0.25, 0.7))
            left = rng.randint(0, width - side)
            top = rng.randint(0, height - side)
            crop = photo.crop((left, top, left + side, top + side)).resize((args.size, args.size), Image.LANCZOS)
            if rng.random() < 0.5:
                crop = crop.transpose(Image.FLIP_LEFT_RIGHT)
            crop.save(os.path.join(tmp, label, f"{label}_{i:03d}.jpg"), quality=90)
    with open(os.path.join(tmp, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2)
    shutil.rmtree(args.out, ignore_errors=True)
    os.replace(tmp, args.out)
    print(f"wrote {len(SOURCES) * args.per_class} JPEG files in {len(SOURCES)} classes to {args.out}")


if __name__ == "__main__":
    main()
