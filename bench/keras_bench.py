"""The Keras / TensorFlow side of tl-kit's benchmarks, driven by bench/*.ts over stdin and stdout.

One process runs TensorFlow on a fixed number of threads (``--threads``, set as the intra-op and inter-op
parallelism before TensorFlow starts: TensorFlow cannot change them afterwards, so each thread count is its own
process). It reads one JSON request per line on stdin and answers each with one JSON line on stdout; everything
else (TensorFlow's logs) goes to stderr. Requests:

- ``{"op": "build", "model": "VGG16", "size": 224, "batch": 8, "seed": 1}``: builds
  ``keras.applications.<model>(weights=None, include_top=False, pooling="avg")`` at that size (random weights: the
  Keras initialisers, seeded), makes a random batch in [-1, 1], warms both call paths up and answers the model's
  multiply-adds counted from its layer shapes (the same rule as bench/flops.ts) and TensorFlow's own FLOP count of
  the traced graph.
- ``{"op": "time", "mode": "predict_on_batch" | "call", "minSeconds": 1}``: runs the batch through the model until
  at least ``minSeconds`` have passed (at least once) and answers images per second and the CPU seconds the
  process used meanwhile (all its threads). ``predict_on_batch`` runs the
  compiled ``tf.function`` that ``predict`` uses; ``call`` is ``model(x, training=False)``, eager.
- ``{"op": "tutorial_load", ...}``, ``{"op": "tutorial_fit", ...}``, ``{"op": "tutorial_features", ...}``: the
  tutorial flow (see bench/tutorial.ts): MobileNetV2 with the weights tl-kit exported, frozen, under
  GlobalAveragePooling2D and a softmax Dense layer, trained with the plain ``model.fit`` on preloaded arrays.
- ``{"op": "quit"}``.

Errors are answered as ``{"error": "..."}``; the process keeps serving.
"""

import argparse
import gc
import json
import os
import sys
import time


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, required=True, help="TensorFlow intra-op and inter-op threads")
    args = parser.parse_args()

    # Answers go to the real stdout; anything a library prints goes to stderr.
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1)
    sys.stdout = sys.stderr
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

    import numpy as np
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    import keras

    state = {}

    def reply(obj):
        answers.write(json.dumps(obj) + "\n")

    reply(
        {
            "ready": True,
            "threads": args.threads,
            "intraOp": tf.config.threading.get_intra_op_parallelism_threads(),
            "interOp": tf.config.threading.get_inter_op_parallelism_threads(),
            "versions": {
                "python": sys.version.split()[0],
                "tensorflow": tf.__version__,
                "keras": keras.__version__,
                "numpy": np.__version__,
            },
            "onednn": os.environ.get("TF_ENABLE_ONEDNN_OPTS", "default (on for x86 Linux builds)"),
        }
    )

    handlers = {
        "build": lambda req: build(req, state, np, tf, keras),
        "time": lambda req: time_batch(req, state, np),
        "tutorial_load": lambda req: tutorial_load(req, state, np, keras),
        "tutorial_fit": lambda req: tutorial_fit(req, state, np, keras),
        "tutorial_features": lambda req: tutorial_features(req, state, np),
    }
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            req = json.loads(line)
            if req.get("op") == "quit":
                reply({"bye": True})
                return
            handler = handlers.get(req.get("op"))
            if handler is None:
                raise ValueError(f"unknown op {req.get('op')!r}")
            reply(handler(req))
        except Exception as err:  # answered, not raised: the driver decides what a failure means
            reply({"error": f"{type(err).__name__}: {err}"})


def count_macs(model):
    """Multiply-adds per image of Conv2D, DepthwiseConv2D, SeparableConv2D and Dense calls, from layer shapes."""
    import keras

    total = 0

    def visit(m):
        nonlocal total
        for layer in m.layers:
            if isinstance(layer, keras.Model):
                visit(layer)
                continue
            kind = type(layer).__name__
            if kind not in ("Conv2D", "DepthwiseConv2D", "SeparableConv2D", "Dense"):
                continue
            out = layer.output.shape
            positions = 1
            for d in out[1:-1]:
                positions *= d
            kernels = layer.weights[:2] if kind == "SeparableConv2D" else layer.weights[:1]
            per_position = 0
            for w in kernels:
                size = 1
                for d in w.shape:
                    size *= d
                per_position += size
            total += positions * per_position

    visit(model)
    return total


def tf_graph_flops(tf, model, shape):
    """TensorFlow's profiler count of float operations in the traced forward pass, or None when it fails."""
    try:
        from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

        fn = tf.function(lambda x: model(x, training=False))
        concrete = fn.get_concrete_function(tf.TensorSpec([1, *shape], tf.float32))
        frozen = convert_variables_to_constants_v2(concrete)
        opts = tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()
        opts["output"] = "none"
        info = tf.compat.v1.profiler.profile(graph=frozen.graph, run_meta=tf.compat.v1.RunMetadata(), cmd="op", options=opts)
        return int(info.total_float_ops)
    except Exception as err:  # an internal API: report its absence rather than fail the benchmark
        print(f"TF profiler FLOP count failed: {err}", file=sys.stderr)
        return None


def release(state, keras):
    state.clear()
    keras.backend.clear_session()
    gc.collect()


def build(req, state, np, tf, keras):
    release(state, keras)
    name, size, batch, seed = req["model"], int(req["size"]), int(req["batch"]), int(req.get("seed", 1))
    keras.utils.set_random_seed(seed)
    started = time.perf_counter()
    builder = getattr(keras.applications, name)
    model = builder(weights=None, include_top=False, input_shape=(size, size, 3), pooling="avg")
    build_seconds = time.perf_counter() - started
    x = np.random.default_rng(seed).uniform(-1, 1, (batch, size, size, 3)).astype("float32")
    # Warm-up: the first calls trace the tf.function and pick oneDNN kernels.
    for _ in range(2):
        features = model.predict_on_batch(x)
        model(x, training=False)
    state.update(model=model, x=x, batch=batch)
    return {
        "model": name,
        "size": size,
        "batch": batch,
        "macs": count_macs(model),
        "tfProfilerFlops": tf_graph_flops(tf, model, (size, size, 3)),
        "params": int(model.count_params()),
        "buildSeconds": build_seconds,
        "featureMeanAbs": float(np.mean(np.abs(features))),
        # Whether Keras compiles the predict function with XLA (False for an uncompiled model on TensorFlow).
        "jitCompile": bool(model.jit_compile),
    }


def time_batch(req, state, np):
    model, x, batch = state["model"], state["x"], state["batch"]
    mode, min_seconds = req.get("mode", "predict_on_batch"), float(req.get("minSeconds", 1))
    run = (lambda: model.predict_on_batch(x)) if mode == "predict_on_batch" else (lambda: np.asarray(model(x, training=False)))
    batches = 0
    cpu_started = time.process_time()
    started = time.perf_counter()
    while True:
        run()
        batches += 1
        seconds = time.perf_counter() - started
        if seconds >= min_seconds:
            break
    cpu_seconds = time.process_time() - cpu_started
    return {
        "mode": mode,
        "batches": batches,
        "seconds": seconds,
        "cpuSeconds": cpu_seconds,
        "imagesPerSecond": batches * batch / seconds,
    }


def load_images(np, paths):
    from PIL import Image

    arrays = []
    for path in paths:
        with Image.open(path) as image:
            arrays.append(np.asarray(image.convert("RGB"), dtype="float32") / 255.0)
    return np.stack(arrays)


def tutorial_load(req, state, np, keras):
    """Builds the frozen MobileNetV2 base with tl-kit's exported weights and preloads the three splits as arrays."""
    release(state, keras)
    size, classes = int(req["size"]), int(req["classes"])
    manifest_path = req["weights"]
    with open(manifest_path) as f:
        manifest = json.load(f)
    blob = np.fromfile(os.path.join(os.path.dirname(manifest_path), manifest["file"]), dtype="<f4")
    base = keras.applications.MobileNetV2(weights=None, include_top=False, input_shape=(size, size, 3), alpha=1.0)
    by_name = {entry["layer"]: entry["weights"] for entry in manifest["layers"]}
    assigned = 0
    for layer in base.layers:
        if not layer.weights:
            continue
        entries = by_name.get(layer.name)
        if entries is None:
            raise ValueError(f"no exported weights for Keras layer {layer.name}")
        if len(entries) != len(layer.weights):
            raise ValueError(f"layer {layer.name}: {len(entries)} exported weights, Keras has {len(layer.weights)}")
        values = []
        for entry, weight in zip(entries, layer.weights):
            if tuple(entry["shape"]) != tuple(weight.shape):
                raise ValueError(f"{layer.name}: exported {entry['name']} {entry['shape']}, Keras {weight.path} {tuple(weight.shape)}")
            values.append(blob[entry["offset"] : entry["offset"] + entry["size"]].reshape(entry["shape"]))
        layer.set_weights(values)
        assigned += 1
    base.trainable = False
    splits = {}
    for split in ("train", "validation", "test"):
        paths = req["files"][split]
        labels = np.asarray(req["labels"][split], dtype="int64")
        splits[split] = (load_images(np, paths), keras.utils.to_categorical(labels, classes))
    state.update(base=base, splits=splits, size=size, classes=classes)
    return {
        "assignedLayers": assigned,
        "exportedLayers": len(manifest["layers"]),
        "counts": {k: int(v[0].shape[0]) for k, v in splits.items()},
    }


def tutorial_model(state, keras, seed):
    keras.utils.set_random_seed(seed)
    size, classes = state["size"], state["classes"]
    inputs = keras.Input((size, size, 3))
    x = state["base"](inputs, training=False)
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(classes, activation="softmax")(x)
    return keras.Model(inputs, outputs)


def tutorial_fit(req, state, np, keras):
    """The tutorial's plain model.fit on preloaded arrays; only fit is timed."""
    epochs, batch_size = int(req["epochs"]), int(req["batchSize"])
    model = tutorial_model(state, keras, int(req.get("seed", 1)))
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=float(req["learningRate"])),
        loss="categorical_crossentropy",
        metrics=["accuracy"],
    )
    (x_train, y_train), (x_val, y_val), (x_test, y_test) = (state["splits"][k] for k in ("train", "validation", "test"))
    started = time.perf_counter()
    history = model.fit(
        x_train, y_train, batch_size=batch_size, epochs=epochs, validation_data=(x_val, y_val), shuffle=True, verbose=0
    )
    seconds = time.perf_counter() - started
    loss, accuracy = model.evaluate(x_test, y_test, batch_size=batch_size, verbose=0)
    return {
        "seconds": seconds,
        "testLoss": float(loss),
        "testAccuracy": float(accuracy),
        "finalTrainAccuracy": float(history.history["accuracy"][-1]),
        "finalValAccuracy": float(history.history["val_accuracy"][-1]),
        # What compile's default jit_compile="auto" resolved to: whether the training step ran through XLA.
        "jitCompile": bool(model.jit_compile),
    }


def tutorial_features(req, state, np):
    """Pooled base features of the first n test images, to check that both sides run the same base on the same pixels."""
    n = int(req["n"])
    x = state["splits"]["test"][0][:n]
    features = np.asarray(state["base"](x, training=False)).mean(axis=(1, 2))
    return {"features": features.astype("float64").tolist()}


if __name__ == "__main__":
    main()
