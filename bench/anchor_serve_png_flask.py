"""The PNG-serving anchor of bench/images.sh: the SageMaker scikit-learn serving stack in
miniature (as ../shared/bench/anchor_serve_flask.py) for images. Flask behind gunicorn, the
pickled MLPClassifier of bench/train_images_sklearn.py (--model-out), GET /ping and
POST /invocations (Content-Type image/png or application/x-image: the PNG is decoded with Pillow,
RGB pixels / 255, resized to the model's size when it differs) answering a JSON array of class
probabilities, as the workbench's endpoint does, plus SageMaker Runtime's route
POST /endpoints/<name>/invocations to the same handler.

Serve:  MODEL=MLP.pkl SIDE=32 gunicorn -w 2 -b 127.0.0.1:PORT anchor_serve_png_flask:app
Load:   BODY=image.png PATH_=/endpoints/e/invocations wrk -t1 -cN -d8s --latency -s post_png.lua URL
"""
import io
import json
import os
import pickle

import numpy as np
from flask import Flask, Response, request
from PIL import Image

app = Flask(__name__)
_model = None
SIDE = int(os.environ.get("SIDE", "32"))


def model():
    global _model
    if _model is None:
        with open(os.environ["MODEL"], "rb") as f:
            _model = pickle.load(f)
    return _model


@app.get("/ping")
def ping():
    model()
    return Response("", status=200)


def predict():
    content_type = (request.content_type or "").split(";")[0].strip()
    if content_type not in ("image/png", "application/x-image"):
        return Response("unsupported content type", status=415)
    try:
        image = Image.open(io.BytesIO(request.get_data())).convert("RGB")
    except Exception as e:  # noqa: BLE001 - any decoding failure is the client's
        return Response(f"not an image: {e}", status=400)
    if image.size != (SIDE, SIDE):
        image = image.resize((SIDE, SIDE))
    x = np.asarray(image, dtype=np.float32).reshape(1, -1) / 255.0
    p = model().predict_proba(x)[0]
    return Response(json.dumps([float(v) for v in p]), mimetype="application/json")


app.post("/invocations")(predict)
app.post("/endpoints/<name>/invocations")(lambda name: predict())
