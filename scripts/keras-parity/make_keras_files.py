"""Builds Keras models with seeded random weights, saves them in every Keras file layout, and records Keras's
outputs on fixed inputs, so that tl-kit can be checked against Keras (see README.md in this folder).

Usage:
  python make_keras_files.py --out /tmp/keras-parity            # the five architectures at small input sizes,
                                                                #   and the models of MODELS (augmentation layers)
  python make_keras_files.py --fixtures test/fixtures/keras     # the tiny committed fixture models

Per model NAME it writes into --out:
  NAME.keras            Keras 3 archive (config.json + model.weights.h5)
  NAME.h5               model.save('NAME.h5'): legacy layout under model_weights/, Keras 3 weight names
  NAME.weights.h5       model.save_weights(): Keras 3 layout (layers/<path>/vars/<i>)
  NAME.legacy.weights.h5  weights only in the legacy layout at the root, like Keras's published ImageNet files
  NAME.input.bin / NAME.output.bin  float32 little-endian input and Keras's output (inference mode)
  NAME.json             shapes, and every weight's layer name, path and shape in model order
"""

import argparse
import json
import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import h5py  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402
from keras.src.legacy.saving import legacy_h5_format  # noqa: E402

ARCHITECTURES = {
    # name: (builder, kwargs); small inputs keep the run short, includeTop false as a transfer-learning base.
    "vgg16": (keras.applications.VGG16, dict(input_shape=(32, 32, 3))),
    "inception_v3": (keras.applications.InceptionV3, dict(input_shape=(75, 75, 3))),
    "resnet50v2": (keras.applications.ResNet50V2, dict(input_shape=(32, 32, 3))),
    "resnet101v2": (keras.applications.ResNet101V2, dict(input_shape=(32, 32, 3))),
    "mobilenetv2": (keras.applications.MobileNetV2, dict(input_shape=(32, 32, 3), alpha=0.35)),
}


def leaf_layers(model):
    """The model's layers, with nested models replaced by their own layers."""
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            yield from leaf_layers(layer)
        else:
            yield layer


def randomise(model, seed):
    """Seeded weights: Keras's initialisers for kernels, random BatchNorm statistics so that they matter."""
    rng = np.random.default_rng(seed)
    for layer in leaf_layers(model):
        if isinstance(layer, keras.layers.BatchNormalization):
            values = []
            for v in layer.weights:
                n = v.path.split("/")[-1]
                shape = tuple(v.shape)
                if n in ("gamma", "moving_variance"):
                    values.append(rng.uniform(0.5, 1.5, shape).astype("float32"))
                else:
                    values.append(rng.normal(0.0, 0.1, shape).astype("float32"))
            layer.set_weights(values)
        elif layer.weights:
            values = []
            for v in layer.weights:
                if v.path.endswith("bias"):
                    values.append(rng.normal(0.0, 0.05, tuple(v.shape)).astype("float32"))
                else:
                    values.append(np.asarray(v.numpy()))
            layer.set_weights(values)


def save_all(model, name, out, seed, low=-1.0, high=1.0, h5=True):
    randomise(model, seed)
    base = os.path.join(out, name)
    model.save(base + ".keras")
    if h5:
        model.save(base + ".h5")
    model.save_weights(base + ".weights.h5")
    if h5:
        with h5py.File(base + ".legacy.weights.h5", "w") as f:
            legacy_h5_format.save_weights_to_hdf5_group(f, model)
    shape = (2,) + tuple(model.input_shape[1:])
    x = np.random.default_rng(seed + 1).uniform(low, high, shape).astype("<f4")
    y = np.asarray(model(x, training=False)).astype("<f4")
    x.tofile(base + ".input.bin")
    y.tofile(base + ".output.bin")
    weights = []
    for layer in model.layers:
        for v in layer.weights:
            weights.append([layer.name, v.path, list(v.shape)])
    meta = {
        "name": name,
        "kerasVersion": keras.__version__,
        "inputShape": list(shape),
        "outputShape": list(y.shape),
        "layerNames": [layer.name for layer in model.layers],
        "weights": weights,
    }
    with open(base + ".json", "w") as f:
        json.dump(meta, f)
    return y


def tiny_model():
    inp = keras.Input((8, 8, 3), name="image")
    x = keras.layers.Conv2D(4, 3, padding="same", name="conv")(inp)
    x = keras.layers.BatchNormalization(name="bn")(x)
    x = keras.layers.ReLU(name="relu")(x)
    y = keras.layers.DepthwiseConv2D(3, padding="same", name="dw")(x)
    x = keras.layers.Add(name="add")([x, y])
    x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    x = keras.layers.Dense(3, activation="softmax", name="probs")(x)
    return keras.Model(inp, x, name="tiny")


def tiny_sequential():
    return keras.Sequential(
        [
            keras.Input((6, 6, 3), name="pixels"),
            keras.layers.Rescaling(1.0 / 127.5, offset=-1.0, name="scale"),
            keras.layers.Conv2D(2, 3, activation="relu", name="conv"),
            keras.layers.Flatten(name="flat"),
            keras.layers.Dense(2, name="logits"),
        ],
        name="tiny_seq",
    )


def tiny_nested():
    """A transfer-learning model as the Keras guide builds it: a base model nested inside the classifier."""
    base_input = keras.Input((8, 8, 3))
    b = keras.layers.Conv2D(4, 3, name="bconv")(base_input)
    b = keras.layers.BatchNormalization(name="bbn")(b)
    b = keras.layers.ReLU(name="brelu")(b)
    base = keras.Model(base_input, b, name="base")
    inp = keras.Input((8, 8, 3), name="img")
    x = keras.layers.Rescaling(1.0 / 127.5, offset=-1.0, name="pre")(inp)
    x = base(x, training=False)
    x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    x = keras.layers.Dropout(0.2, name="drop")(x)
    x = keras.layers.Dense(1, name="head")(x)
    return keras.Model(inp, x, name="outer")


def augmented(seed, brightness=True):
    """The Keras transfer-learning guide's layout with every preprocessing layer tl-kit translates: random
    augmentations (nested and inline) that pass through at inference, a RandomCrop and a Resizing to the input's own
    size, a CenterCrop, an adapted Normalization and one with fixed statistics, in front of a nested conv base.
    Keras 3.15 cannot write RandomBrightness to a legacy .h5 ("cannot pickle 'module' object"): the .h5 variant
    leaves it out."""
    layers = keras.layers
    rng = np.random.default_rng(seed)
    inp = keras.Input((40, 48, 3), name="image")
    augment = keras.Sequential(
        [layers.RandomFlip("horizontal"), layers.RandomRotation(0.1), layers.RandomZoom(0.1)], name="augment"
    )
    x = augment(inp)
    x = layers.RandomTranslation(0.1, 0.1, name="shift")(x)
    x = layers.RandomContrast(0.2, name="contrast")(x)
    if brightness:
        x = layers.RandomBrightness(0.2, name="brightness")(x)
    x = layers.RandomCrop(40, 48, name="crop")(x)
    x = layers.Resizing(40, 48, name="resize")(x)
    x = layers.CenterCrop(32, 32, name="centre")(x)
    norm = layers.Normalization(name="norm")
    norm.adapt(rng.uniform(0.0, 255.0, (64, 32, 32, 3)).astype("float32"))
    x = norm(x)
    x = layers.Normalization(mean=[0.1, -0.2, 0.0], variance=[1.5, 0.8, 1.0], name="norm_fixed")(x)
    # A small nested base whose logits follow its input closely, so that a preprocessing error would show (a random
    # MobileNetV2 here answers almost the same for every input).
    base_in = keras.Input((32, 32, 3))
    b = layers.Conv2D(8, 3, padding="same", name="bconv1")(base_in)
    b = layers.BatchNormalization(name="bbn")(b)
    b = layers.ReLU(name="brelu")(b)
    b = layers.Conv2D(16, 3, strides=2, activation="relu", name="bconv2")(b)
    base = keras.Model(base_in, b, name="base")
    x = base(x, training=False)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    x = layers.Dropout(0.2, name="drop")(x)
    x = layers.Dense(3, name="logits")(x)
    return keras.Model(inp, x, name="augmented")


# Models that only loadKerasModel reads (no tl-kit builder): name -> (factory, input range, legacy .h5 files too).
MODELS = {
    "augmented": (augmented, (0.0, 255.0), False),
    "augmented_h5": (lambda seed: augmented(seed, brightness=False), (0.0, 255.0), True),
}


def write_fixture(model, name, folder, seed, input_shape, low, high):
    """Saves a committed fixture: .keras, .h5 and reference outputs as JSON (no weights-only or binary files)."""
    y = save_all(model, name, folder, seed=seed)
    base = os.path.join(folder, name)
    x = np.fromfile(base + ".input.bin", dtype="<f4").reshape(input_shape)
    if low != -1.0 or high != 1.0:
        x = np.random.default_rng(seed + 1).uniform(low, high, input_shape).astype("float32")
        y = np.asarray(model(x, training=False))
    for ext in (".weights.h5", ".input.bin", ".output.bin"):
        os.remove(base + ext)
    with open(base + ".reference.json", "w") as f:
        json.dump({"input": x.tolist(), "output": y.tolist(), "kerasVersion": keras.__version__}, f)


def write_keras1_style(src, dst):
    """Rewrites a legacy weights file the way Keras 1/2 wrote Keras's published ImageNet files: names as fixed-length
    byte strings, and Keras 1 weight names (`conv_W_1:0`, `conv_b_1:0`, BatchNorm `bn_gamma_1:0` ...)."""
    with h5py.File(src, "r") as f, h5py.File(dst, "w") as g:
        g.attrs["keras_version"] = np.bytes_("1.2.2")
        g.attrs["backend"] = np.bytes_("tensorflow")
        layer_names = [n.decode() if isinstance(n, bytes) else n for n in f.attrs["layer_names"]]
        g.attrs["layer_names"] = np.array([n.encode() for n in layer_names])
        short = {"kernel": "W", "bias": "b"}
        for layer in layer_names:
            group = g.create_group(layer)
            names = []
            for wn in f[layer].attrs["weight_names"]:
                wn = wn.decode() if isinstance(wn, bytes) else wn
                last = wn.split("/")[-1]
                new = f"{layer}_{short.get(last, last)}_1:0"
                group.create_dataset(new, data=f[layer][wn][()])
                names.append(new.encode())
            group.attrs["weight_names"] = np.array(names) if names else np.zeros((0,), dtype="S1")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--out", help="folder for the architecture files (not committed)")
    p.add_argument("--fixtures", help="folder for the tiny committed fixture")
    p.add_argument("--only", nargs="*", help="architectures to build (default: all)")
    args = p.parse_args()
    if args.fixtures:
        os.makedirs(args.fixtures, exist_ok=True)
        keras.backend.clear_session()
        keras.utils.set_random_seed(7)
        write_fixture(tiny_model(), "tiny", args.fixtures, 7, (2, 8, 8, 3), -1.0, 1.0)
        base = os.path.join(args.fixtures, "tiny")
        write_keras1_style(base + ".legacy.weights.h5", base + ".keras1.weights.h5")
        keras.backend.clear_session()
        keras.utils.set_random_seed(9)
        write_fixture(tiny_sequential(), "tiny_seq", args.fixtures, 9, (2, 6, 6, 3), 0.0, 255.0)
        keras.backend.clear_session()
        keras.utils.set_random_seed(3)
        write_fixture(tiny_nested(), "nested", args.fixtures, 3, (2, 8, 8, 3), 0.0, 255.0)
        print("tiny fixture written to", args.fixtures)
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        for i, (name, (builder, kwargs)) in enumerate(ARCHITECTURES.items()):
            if args.only and name not in args.only:
                continue
            # A fresh session gives unnamed layers the names tl-kit's builders use (conv2d, conv2d_1, ...).
            keras.backend.clear_session()
            keras.utils.set_random_seed(100 + i)
            model = builder(include_top=False, weights=None, **kwargs)
            y = save_all(model, name, args.out, seed=100 + i)
            print(f"{name}: {len(model.weights)} weights, output {y.shape}, max |y| {np.abs(y).max():.4g}")
        collect(args.out)
        for i, (name, (factory, (low, high), h5)) in enumerate(MODELS.items()):
            if args.only and name not in args.only:
                continue
            keras.backend.clear_session()
            keras.utils.set_random_seed(200 + i)
            model = factory(200 + i)
            y = save_all(model, name, args.out, seed=200 + i, low=low, high=high, h5=h5)
            print(f"{name}: {len(model.weights)} weights, output {y.shape}, max |y| {np.abs(y).max():.4g}")


def collect(out):
    """Writes OUT/architectures.json (layer names, weights, shapes of every architecture built), the file that
    test/fixtures/keras/architectures.json is a copy of."""
    result = {}
    for name in ARCHITECTURES:
        path = os.path.join(out, name + ".json")
        if not os.path.exists(path):
            continue
        with open(path) as f:
            meta = json.load(f)
        result[name] = {
            "kerasVersion": meta["kerasVersion"],
            "inputShape": meta["inputShape"][1:],
            "outputShape": meta["outputShape"][1:],
            "layerNames": meta["layerNames"],
            "weights": meta["weights"],
        }
    with open(os.path.join(out, "architectures.json"), "w") as f:
        json.dump(result, f, separators=(",", ":"))


if __name__ == "__main__":
    main()
