#!/usr/bin/env python3
"""scikit-learn side of bench/images.sh: the best Python alternative to the workbench's image
models that installs from PyPI here (PyTorch's PyPI wheel is the CUDA build: 539 MB plus the
nvidia-* wheels; its CPU wheels live on download.pytorch.org). Reads a partition's image
channels exactly as a training job receives them (`train/` + `train_lst/*.lst`, `validation/`
+ `validation_lst/*.lst`, lines `index<TAB>label<TAB>relative path`), decodes the PNGs with
Pillow into pixels / 255 (channels last, flattened), then fits

  mlp       MLPClassifier: one hidden layer, adam, max_iter = epochs (one iteration is one
            epoch), mini-batches of --batch (32, the CNN's mini_batch_size), sklearn's
            learning_rate_init 0.001 and alpha 1e-4 (= the CNN's weight_decay)
  logistic  LogisticRegression (lbfgs, multinomial), max_iter = the baseline's epochs (one
            lbfgs iteration is one full-batch gradient plus its line search, not an epoch of
            mini-batch SGD)

and prints, per model, fit seconds, iterations, seconds per iteration and validation accuracy:

  sklearn mlp        fit 1.23 s  8 it  0.154 s/epoch  accuracy 0.9876

Usage: train_images_sklearn.py CHANNELS_DIR [--mlp-epochs 8] [--logistic-epochs 20]
       [--hidden 128] [--batch 32] [--model-out MLP.pkl]
--model-out pickles the fitted MLP for bench/anchor_serve_png_flask.py.
"""
import argparse
import pathlib
import pickle
import time
import warnings

import numpy as np
from PIL import Image
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score
from sklearn.neural_network import MLPClassifier


def pixels(image):
    """The anchor's features of one image: RGB pixels / 255, channels last, flattened."""
    return np.asarray(image.convert("RGB"), dtype=np.float32).reshape(-1) / 255.0


def read_channel(channels, name):
    lsts = sorted((channels / f"{name}_lst").glob("*.lst"))
    if not lsts:
        raise SystemExit(f"no .lst file under {channels / (name + '_lst')}")
    xs, ys = [], []
    for lst in lsts:
        for line in lst.read_text().splitlines():
            if not line.strip():
                continue
            _, label, rel = line.split("\t")
            with Image.open(channels / name / rel) as image:
                xs.append(pixels(image))
            ys.append(int(float(label)))
    return np.stack(xs), np.asarray(ys, dtype=np.int64)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("channels", type=pathlib.Path, help="the partition's channels/ directory")
    parser.add_argument("--mlp-epochs", type=int, default=8)
    parser.add_argument("--logistic-epochs", type=int, default=20)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--model-out", type=pathlib.Path)
    args = parser.parse_args()

    started = time.perf_counter()
    x_train, y_train = read_channel(args.channels, "train")
    x_val, y_val = read_channel(args.channels, "validation")
    print(f"sklearn read+decode {len(y_train)} train and {len(y_val)} validation PNGs "
          f"({x_train.shape[1]} features) in {time.perf_counter() - started:.2f} s")

    models = {
        "mlp": MLPClassifier(hidden_layer_sizes=(args.hidden,), solver="adam", batch_size=args.batch,
                             max_iter=args.mlp_epochs, random_state=42),
        "logistic": LogisticRegression(max_iter=args.logistic_epochs),
    }
    for name, model in models.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            started = time.perf_counter()
            model.fit(x_train, y_train)
            seconds = time.perf_counter() - started
        iterations = int(np.max(model.n_iter_))
        accuracy = accuracy_score(y_val, model.predict(x_val))
        print(f"sklearn {name:<9} fit {seconds:.2f} s  {iterations} it  "
              f"{seconds / iterations:.4f} s/epoch  accuracy {accuracy:.4f}")
        if name == "mlp" and args.model_out:
            with open(args.model_out, "wb") as f:
                pickle.dump(model, f)


if __name__ == "__main__":
    main()
