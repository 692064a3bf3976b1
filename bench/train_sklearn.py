#!/usr/bin/env python3
"""scikit-learn side of bench/train.sh: fit each classifier on a train channel CSV (target in
the first column, no header) and report fit seconds and validation ROC AUC on a validation
channel CSV, in the same line format as `cargo run --example train_bench`.

Usage: train_sklearn.py TRAIN.csv VALIDATION.csv [--trees N] [--max-depth D]
       [--feature-fraction F] [--rounds R] [--boost-depth D] [--eta E] [--algorithms a,b,...]
       [--regression]

With --regression the first column is a value: the regressors of the same names are fitted
(DecisionTreeRegressor, RandomForestRegressor, XGBRegressor, HistGradientBoostingRegressor,
LinearRegression) and the lines report validation R² and RMSE.

`xgboost` is the `xgboost` package (tree_method="hist", nthread = --jobs) and
`hist-gradient-boosting` scikit-learn's HistGradientBoostingClassifier, both with the rounds,
depth and learning rate given (no early stopping).
"""
import argparse
import time

import numpy as np
import pandas as pd
from sklearn.ensemble import (HistGradientBoostingClassifier, HistGradientBoostingRegressor,
                              RandomForestClassifier, RandomForestRegressor)
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.metrics import accuracy_score, mean_squared_error, r2_score, roc_auc_score
from sklearn.naive_bayes import GaussianNB
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor


def read(path, regression=False):
    frame = pd.read_csv(path, header=None, dtype=np.float64, engine="c")
    values = frame.to_numpy()
    return values[:, 1:], values[:, 0] if regression else values[:, 0].astype(np.int64)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("train")
    parser.add_argument("validation")
    parser.add_argument("--trees", type=int, default=100)
    parser.add_argument("--max-depth", type=int, default=10)
    parser.add_argument("--feature-fraction", default="sqrt",
                        help="max_features of the forest: 'sqrt' (per split, sklearn's default) or a fraction")
    parser.add_argument("--jobs", type=int, default=None, help="n_jobs of the forest")
    parser.add_argument("--rounds", type=int, default=100, help="boosting rounds (xgboost's num_round)")
    parser.add_argument("--boost-depth", type=int, default=6, help="max_depth of the boosted trees")
    parser.add_argument("--eta", type=float, default=0.3, help="learning rate of the boosted trees")
    parser.add_argument("--algorithms", default="logistic-regression,decision-tree,random-forest,gaussian-nb")
    parser.add_argument("--regression", action="store_true", help="the first column is a value, not a class")
    args = parser.parse_args()

    started = time.perf_counter()
    x_train, y_train = read(args.train, args.regression)
    x_val, y_val = read(args.validation, args.regression)
    print(f"read {len(y_train)} train and {len(y_val)} validation rows × {x_train.shape[1]} features "
          f"in {time.perf_counter() - started:.2f} s")
    max_features = args.feature_fraction if args.feature_fraction == "sqrt" else float(args.feature_fraction)
    models = {
        # Our logistic regression standardizes internally (L-BFGS, alpha = 1 ≙ C = 1).
        "logistic-regression": lambda: make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=100, tol=1e-4)),
        "decision-tree": lambda: DecisionTreeClassifier(max_depth=args.max_depth, random_state=42),
        "random-forest": lambda: RandomForestClassifier(
            n_estimators=args.trees, max_depth=args.max_depth, max_features=max_features,
            n_jobs=args.jobs, random_state=42),
        "gaussian-nb": lambda: GaussianNB(var_smoothing=1e-9),
        "xgboost": lambda: __import__("xgboost").XGBClassifier(
            n_estimators=args.rounds, max_depth=args.boost_depth, learning_rate=args.eta, tree_method="hist",
            max_bin=256, n_jobs=args.jobs, base_score=0.5, random_state=0),
        "hist-gradient-boosting": lambda: HistGradientBoostingClassifier(
            max_iter=args.rounds, max_depth=args.boost_depth, max_leaf_nodes=None, learning_rate=args.eta,
            early_stopping=False, random_state=0),
    }
    if args.regression:
        xgboost = __import__("xgboost")
        models = {
            "linear-regression": lambda: LinearRegression(),
            "decision-tree": lambda: DecisionTreeRegressor(max_depth=args.max_depth, random_state=42),
            # scikit-learn's regressor default: every feature at every split (ours on a regression dataset too).
            "random-forest": lambda: RandomForestRegressor(
                n_estimators=args.trees, max_depth=args.max_depth, max_features=1.0, n_jobs=args.jobs,
                random_state=42),
            "xgboost": lambda: xgboost.XGBRegressor(
                n_estimators=args.rounds, max_depth=args.boost_depth, learning_rate=args.eta, tree_method="hist",
                max_bin=256, n_jobs=args.jobs, base_score=0.5, random_state=0),
            "hist-gradient-boosting": lambda: HistGradientBoostingRegressor(
                max_iter=args.rounds, max_depth=args.boost_depth, max_leaf_nodes=None, learning_rate=args.eta,
                early_stopping=False, random_state=0),
        }
        for name in args.algorithms.split(","):
            if name not in models:
                continue
            model = models[name]()
            started = time.perf_counter()
            model.fit(x_train, y_train)
            seconds = time.perf_counter() - started
            predicted = model.predict(x_val)
            r2 = r2_score(y_val, predicted)
            rmse = mean_squared_error(y_val, predicted) ** 0.5
            print(f"sklearn {name:<22} {seconds:>9.2f} s  r2 {r2:.4f}  rmse {rmse:.4f}")
        return
    for name in args.algorithms.split(","):
        model = models[name]()
        started = time.perf_counter()
        model.fit(x_train, y_train)
        seconds = time.perf_counter() - started
        proba = model.predict_proba(x_val)
        if proba.shape[1] == 2:
            auc = roc_auc_score(y_val, proba[:, 1])
        else:
            auc = roc_auc_score(y_val, proba, multi_class="ovr", average="macro")
        accuracy = accuracy_score(y_val, proba.argmax(axis=1))
        print(f"sklearn {name:<22} {seconds:>9.2f} s  auc {auc:.4f}  accuracy {accuracy:.4f}")


if __name__ == "__main__":
    main()
