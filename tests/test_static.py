"""autograder.static: every rule on code that should and should not trigger it,
on the seeds' own cells, and on notebooks with nbgrader metadata."""
import json
import textwrap

import nbformat
import pytest

from cnnkit import messages
from autograder import static
from autograder.static import Finding, analyze_notebook, analyze_source


def codes(findings):
    return [finding.code for finding in findings]


def only(findings, code):
    return [finding for finding in findings if finding.code == code]


def src(text):
    return textwrap.dedent(text).strip("\n")


def notebook(*cells):
    """Cells as (source, role): role "solution" | "locked" | "test" | "markdown" | None (no metadata)."""
    nb = nbformat.v4.new_notebook()
    for number, (source, role) in enumerate(cells):
        if role == "markdown":
            nb.cells.append(nbformat.v4.new_markdown_cell(source))
            continue
        cell = nbformat.v4.new_code_cell(src(source))
        if role is not None:
            cell.metadata["nbgrader"] = {
                "solution": role == "solution", "grade": role == "test", "locked": role != "solution",
                "grade_id": f"cell-{number}", "schema_version": 3,
            }
        nb.cells.append(cell)
    return nb


# The code cells of seed 003 (a student's CIFAR-10 notebook), verbatim.
SEED_003_CELLS = [
    """
    import tensorflow as tf
    import matplotlib.pyplot as plt
    from tensorflow.keras import datasets, layers, models
    import numpy as np
    """,
    """
    (train_images, train_labels), (test_images, test_labels) = datasets.cifar10.load_data()

    #Normalizar
    train_images, test_images = train_images/255, test_images/255
    """,
    """
    model = models.Sequential()
    model.add(layers.Conv2D(32, (3,3), activation = 'relu', input_shape=(32, 32, 3)))
    model.add(layers.MaxPooling2D((2,2)))
    model.add(layers.Conv2D(64, (3,3), activation = 'relu'))
    model.add(layers.MaxPooling2D((2,2)))
    model.add(layers.Conv2D(64, (3,3), activation = 'relu'))
    """,
    """
    model.summary()
    """,
    """
    model.add(layers.Flatten())
    model.add(layers.Dense(60, activation = 'relu'))
    model.add(layers.Dense(20, activation = 'sigmoid'))
    model.summary()
    """,
    """
    model.compile(optimizer='adam',
                  loss = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=['accuracy'])
    """,
    """
    history = model.fit(train_images, train_labels, epochs=15,
                        validation_data=(test_images, test_labels))
    """,
    """
    predictions = model.predict(test_images)
    print(predictions[n])
    """,
]

# Seed 002's slides (Keras 2 course material), verbatim but for line breaks.
SEED_002_OPTIMIZER = """
from keras.optimizers import SGD
opt = SGD(lr = 0.01, decay = 1e-6, momentum = 0.9,
          nesterov = True)
"""
SEED_002_GENERATORS = """
from keras.preprocessing.image import ImageDataGenerator
datagen = ImageDataGenerator(featurewise_center = True,
                             featurewise_std_normalization = True, validation_split = 0.1)
datagen.fit(imagenes_train)
my_model.fit_generator(datagen.flow(imagenes_train,
    etiquetas_train, batch_size = 32, subset =
    'training'),
    steps_per_epoch = len(imagenes_train)*0.9/32,
    epochs = 30,
    validation_data = datagen.flow(imagenes_train,
    etiquetas_train, batch_size = 32, subset =
    'validation'),
    validation_steps = len(imagenes_train)*0.1/32)
predicciones = my_model.predict_generator(
    datagen_test.flow(imagenes_test,
    batch_size = 1, shuffle = False),
    steps = len(imagenes_test))
"""
SEED_002_FUNCTIONAL = """
from keras.models import Model
from keras.layers import Input, Dense

def define_model_by_functional_api():
    input1 = Input(shape=(4,))
    hidden1 = Dense(50, activation='relu')(input1)
    hidden2 = Dense(12, activation='relu')(hidden1)
    output = Dense(3, activation='softmax')(hidden2)
    model = Model(inputs=input1, outputs=output)
    model.compile(loss='categorical_crossentropy', optimizer='adam', metrics=['accuracy'])
    return model
"""
SEED_002_SEQUENTIAL = """
model = Sequential()
model.add(Dense(50, input_dim=4, activation='relu'))
model.add(Dense(12, activation='relu'))
model.add(Dense(3, activation='softmax'))
"""
SEED_002_FINE_TUNING = """
from keras.applications.resnet import ResNet50, preprocess_input
resnet50 = ResNet50(include_top = False, weights = 'imagenet', pooling = 'avg')
x = resnet50.output
x = Dense(32, activation = 'relu')(x)
last = Dense(10, activation = 'softmax')(x)
new_model = Model(inputs = resnet50.input, outputs = last)
"""


# ------------------------------------------------------------------ seeds

def test_seed_003_notebook_gets_every_expected_finding():
    nb = notebook(*[(cell, "solution") for cell in SEED_003_CELLS])
    findings = analyze_notebook(nb, num_classes=10)
    located = {(f.code, f.cell_index, f.line) for f in findings}
    assert located == {
        ("static.input_shape_argument", 2, 2),
        ("static.probabilities_with_from_logits", 4, 3),  # the Dense(20, sigmoid) line
        ("static.sigmoid_multiclass", 4, 3),
        ("static.output_units", 4, 3),
        ("static.validation_on_test", 6, 1),
    }
    units = only(findings, "static.output_units")[0]
    assert units.severity == "error"
    assert units.message("en").startswith("The last Dense layer has 20 units; the dataset has 10 classes.")
    assert "20 unidades" in units.message("es") and "10 clases" in units.message("es")
    logits = only(findings, "static.probabilities_with_from_logits")[0]
    assert logits.params == {"activation": "sigmoid", "loss": "SparseCategoricalCrossentropy(from_logits=True)"}
    assert "from_logits=True" in logits.message("es")


def test_seed_003_without_num_classes_does_not_judge_units():
    nb = notebook(*[(cell, "solution") for cell in SEED_003_CELLS])
    assert "static.output_units" not in codes(analyze_notebook(nb))


def test_seed_003_models_import_is_tensorflow_not_the_reference_builders():
    nb = notebook(*[(cell, "solution") for cell in SEED_003_CELLS])
    assert "static.reference_model" not in codes(analyze_notebook(nb, num_classes=10))


def test_seed_002_optimizer_gets_lr_and_decay_with_the_modern_spelling():
    findings = analyze_source(src(SEED_002_OPTIMIZER))
    assert [(f.code, f.line) for f in findings] == [("static.optimizer_lr", 2), ("static.optimizer_decay", 2)]
    assert "SGD(learning_rate=0.01)" in findings[0].message("en")
    assert ("SGD(learning_rate=keras.optimizers.schedules.InverseTimeDecay(0.01, decay_steps=1, decay_rate=1e-06))"
            in findings[1].message("es"))


def test_seed_002_generators():
    findings = analyze_source(src(SEED_002_GENERATORS))
    assert [(f.code, f.line) for f in findings] == [
        ("static.image_data_generator", 1),
        ("static.keras2_generator_method", 5),
        ("static.keras2_generator_method", 14),
    ]
    assert "my_model.fit(...)" in findings[1].message("en")
    assert "my_model.predict(...)" in findings[2].message("es")
    # validation comes from a training subset: not validation on test
    assert "static.validation_on_test" not in codes(findings)


def test_seed_002_models_are_correct_for_their_class_counts():
    functional = analyze_source(src(SEED_002_FUNCTIONAL), num_classes=3)
    assert functional == []
    sequential = analyze_source(src(SEED_002_SEQUENTIAL), num_classes=3)
    assert codes(sequential) == ["static.input_shape_argument"]  # input_dim=4
    assert sequential[0].params["shape"] == "(4,)"


def test_seed_002_fine_tuning_head_is_checked_against_the_dataset():
    findings = analyze_source(src(SEED_002_FINE_TUNING), num_classes=200)
    assert [(f.code, f.line, f.params) for f in findings] == [
        ("static.output_units", 5, {"units": 10, "num_classes": "200"})]
    assert analyze_source(src(SEED_002_FINE_TUNING), num_classes=10) == []


# ------------------------------------------------------ Keras-2 idioms

@pytest.mark.parametrize("method, modern", [
    ("fit_generator", "fit"), ("evaluate_generator", "evaluate"), ("predict_generator", "predict")])
def test_generator_methods(method, modern):
    (finding,) = analyze_source(f"model.{method}(gen, steps=10)")
    assert finding.code == "static.keras2_generator_method" and finding.severity == "warning"
    assert f"`model.{modern}(...)`" in finding.message("en")


def test_modern_generator_calls_are_fine():
    assert analyze_source("model.fit(gen, steps_per_epoch=10)\nmodel.predict(gen)\nmodel.evaluate(gen)") == []


@pytest.mark.parametrize("call", [
    "keras.optimizers.Adam(lr=1e-3)",
    "optimizers.RMSprop(lr=1e-3)",
    "SGD(lr=1e-3)",
    "tf.keras.optimizers.legacy.Adam(lr=1e-3)",
    "keras.optimizers.adam(lr=1e-3)",  # Keras 2's lowercase alias
])
def test_lr_keyword_in_optimizers(call):
    (finding,) = [f for f in analyze_source(call) if f.code == "static.optimizer_lr"]
    assert "learning_rate=0.001" in finding.message("en")
    assert "adam(" not in finding.message("en")     # the hint never keeps Keras 1's lowercase name


@pytest.mark.parametrize("call, modern", [
    ("keras.optimizers.rmsprop(lr=0.0001)", "keras.optimizers.RMSprop(learning_rate=0.0001)"),
    ("optimizers.sgd()", "optimizers.SGD(learning_rate=0.001)"),
    ("tf.keras.optimizers.adam(0.01)", "tf.keras.optimizers.Adam(learning_rate=0.01)"),
])
def test_lowercase_optimizers_are_named_by_their_class(call, modern):
    findings = analyze_source(call)
    assert codes(findings)[0] == "static.optimizer_lowercase"
    assert f"`{modern}`" in findings[0].message("en")
    for finding in findings:
        assert "rmsprop(learning_rate" not in finding.message("en")


@pytest.mark.parametrize("call, fixed", [
    ("Convolution2D(64, 3, 3)", "Conv2D(64, (3, 3))"),
    ("layers.Conv2D(32, 5, 5, activation='relu')", "layers.Conv2D(32, (5, 5))"),
])
def test_keras1_positional_kernel_sizes_say_they_are_strides(call, fixed):
    (finding,) = [f for f in analyze_source(call) if f.code == "static.keras1_kernel_size"]
    assert f"`{fixed}`" in finding.message("en") and "stride" in finding.message("en")


@pytest.mark.parametrize("source", ["layers.Conv2D(64, 3)", "layers.Conv2D(64, (3, 3), 2)",
                                    "layers.Conv2D(64, 3, strides=2)"])
def test_modern_conv_calls_get_no_keras1_hint(source):
    assert "static.keras1_kernel_size" not in codes(analyze_source(source))


def test_input_blocks_the_grader_and_says_which_value_to_write():
    (finding,) = analyze_source("epochs = int(input('épocas: '))")
    assert finding.code == "static.input_call" and "`epochs = 5`" in finding.message("en")


@pytest.mark.parametrize("call", [
    "SGD(learning_rate=0.01, momentum=0.9)",
    "schedule(lr=0.1)",                                # not an optimizer
    "keras.callbacks.ReduceLROnPlateau(min_lr=1e-5)",
    "AdamW(learning_rate=1e-3, weight_decay=1e-4)",   # weight_decay is Keras 3
    "keras.optimizers.schedules.ExponentialDecay(0.1, decay_steps=100, decay_rate=0.9)",
])
def test_modern_optimizer_calls_are_fine(call):
    assert analyze_source(call) == []


def test_decay_without_lr_suggests_the_optimizers_default():
    (finding,) = analyze_source("opt = keras.optimizers.SGD(momentum=0.9, decay=1e-4)")
    assert finding.code == "static.optimizer_decay"
    assert finding.params == {"optimizer": "keras.optimizers.SGD", "lr": "0.01", "decay": "0.0001"}
    (adam,) = analyze_source("opt = Adam(learning_rate=3e-4, decay=1e-5)")
    assert adam.params["lr"] == "0.0003"


@pytest.mark.parametrize("source, code", [
    ("from keras.preprocessing.image import ImageDataGenerator", "static.image_data_generator"),
    ("from tensorflow.keras.preprocessing.image import ImageDataGenerator as IDG",
     "static.image_data_generator_legacy"),
    ("import tensorflow as tf\ng = tf.keras.preprocessing.image.ImageDataGenerator(rotation_range=10)",
     "static.image_data_generator_legacy"),
    ("import keras\ng = keras.preprocessing.image.ImageDataGenerator()", "static.image_data_generator"),
    ("from keras.preprocessing import image\ng = image.ImageDataGenerator()", "static.image_data_generator"),
    ("from keras.preprocessing.image import *\ng = ImageDataGenerator()", "static.image_data_generator"),
    ("from keras_preprocessing.image import ImageDataGenerator", "static.image_data_generator"),
])
def test_image_data_generator(source, code):
    findings = analyze_source(source)
    assert codes(findings) == [code]
    assert "keras.layers.RandomFlip" in findings[0].message("es")
    if code.endswith("legacy"):
        assert findings[0].severity == "hint" and "legacy" in findings[0].message("en")


def test_other_preprocessing_imports_are_fine():
    assert analyze_source("from keras.preprocessing.image import load_img, img_to_array\n"
                          "aug = keras.layers.RandomFlip('horizontal')") == []


@pytest.mark.parametrize("source", [
    "from keras.utils import np_utils\ny = np_utils.to_categorical(y, 10)",
    "from keras.utils.np_utils import to_categorical",
    "import keras\ny = keras.utils.np_utils.to_categorical(y)",
    "import keras.utils.np_utils",
])
def test_np_utils(source):
    findings = analyze_source(source)
    assert codes(findings) == ["static.np_utils"]
    assert "keras.utils.to_categorical" in findings[0].message("en")


def test_modern_to_categorical_is_fine():
    assert analyze_source("from keras.utils import to_categorical\ny = keras.utils.to_categorical(y)") == []


def test_predict_classes():
    (finding,) = analyze_source("y_pred = modelo.predict_classes(x_test)")
    assert finding.code == "static.predict_classes"
    assert "np.argmax(modelo.predict(x), axis=-1)" in finding.message("es")
    assert analyze_source("y_pred = np.argmax(modelo.predict(x_test), axis=-1)") == []


@pytest.mark.parametrize("source, receiver", [
    ("print(model.layers[0].output_shape)", "model.layers[0]"),
    ("for layer in model.layers:\n    print(layer.name, layer.output_shape)", "layer"),
    ("for i, capa in enumerate(model.layers[:3]):\n    print(i, capa.output_shape)", "capa"),
    ("shapes = [l.output_shape for l in model.layers]", "l"),
    ("print(model.get_layer('conv1').output_shape)", "model.get_layer('conv1')"),
    ("conv = layers.Conv2D(8, 3)\nprint(conv.output_shape)", "conv"),
    ("print(last_layer.output_shape)", "last_layer"),
])
def test_layer_output_shape(source, receiver):
    findings = only(analyze_source(source), "static.layer_output_shape")
    assert len(findings) == 1
    assert f"`{receiver}.output.shape`" in findings[0].message("en")


@pytest.mark.parametrize("source", [
    "print(model.output_shape)",
    "base_model = keras.applications.ResNet50(include_top=False)\nprint(base_model.output_shape)",
    "print(net.output_shape)",                     # unknown: no evidence it is a layer
    "layer_model = keras.Model(inp, out)\nprint(layer_model.output_shape)",
    "for layer in model.layers:\n    print(layer.output.shape)",
])
def test_model_output_shape_is_fine(source):
    assert only(analyze_source(source), "static.layer_output_shape") == []


def test_keras2_layer_modules():
    findings = analyze_source("from keras.layers.convolutional import Conv2D, MaxPooling2D\n"
                              "from keras.layers.core import Dense, Flatten\n"
                              "from keras.layers import Dropout")
    assert [(f.code, f.line, f.params["module"]) for f in findings] == [
        ("static.keras2_layer_module", 1, "convolutional"), ("static.keras2_layer_module", 2, "core")]
    assert "from keras.layers import Conv2D, MaxPooling2D" in findings[0].message("en")


def test_input_shape_argument():
    (finding,) = analyze_source("m = keras.Sequential([keras.layers.Dense(10, input_shape=(784,))])")
    assert finding.code == "static.input_shape_argument" and finding.severity == "hint"
    assert "keras.Input(shape=(784,))" in finding.message("es")


@pytest.mark.parametrize("source", [
    "base = keras.applications.ResNet50(input_shape=(224, 224, 3), include_top=False)",
    "inputs = keras.Input(shape=(32, 32, 3))",
    "m = keras.Sequential([keras.Input((784,)), keras.layers.Dense(10)])",
])
def test_input_shape_where_keras_3_wants_it_is_fine(source):
    assert analyze_source(source) == []


# ------------------------------------------------------ model rules

LOGITS_LOSS = "keras.losses.SparseCategoricalCrossentropy(from_logits=True)"


@pytest.mark.parametrize("head", [
    "layers.Dense(10, activation='softmax')",
    "layers.Dense(10, 'softmax')",
    "layers.Dense(10, activation=tf.nn.softmax)",
    "layers.Dense(10), layers.Activation('softmax')",
    "layers.Dense(10), layers.Softmax()",
])
def test_softmax_output_with_from_logits(head):
    source = f"""
    model = keras.Sequential([keras.Input((28, 28)), layers.Flatten(), {head}])
    model.compile(optimizer="adam", loss={LOGITS_LOSS})
    """
    findings = analyze_source(src(source), num_classes=10)
    assert codes(findings) == ["static.probabilities_with_from_logits"]
    assert findings[0].line == 1 and findings[0].params["activation"] == "softmax"


@pytest.mark.parametrize("head, loss", [
    ("layers.Dense(10)", LOGITS_LOSS),                                  # logits + from_logits: right
    ("layers.Dense(10, activation='softmax')", "'sparse_categorical_crossentropy'"),
    ("layers.Dense(10, activation='softmax')", "keras.losses.SparseCategoricalCrossentropy(from_logits=False)"),
    ("layers.Dense(10, activation='softmax'), layers.Activation('linear')", LOGITS_LOSS),
])
def test_consistent_output_and_loss_is_fine(head, loss):
    source = f"""
    model = keras.Sequential([layers.Flatten(), {head}])
    model.compile(optimizer="adam", loss={loss})
    """
    assert analyze_source(src(source), num_classes=10) == []


def test_from_logits_loss_held_in_a_variable():
    source = """
    model = keras.Sequential()
    model.add(layers.Flatten())
    model.add(layers.Dense(10, activation="softmax"))
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    model.compile(optimizer="adam", loss=loss_fn)
    """
    findings = analyze_source(src(source))
    assert [(f.code, f.line) for f in findings] == [("static.probabilities_with_from_logits", 3)]


def test_model_from_a_builder_function_compiled_outside():
    source = """
    def build():
        return keras.Sequential([layers.Flatten(), layers.Dense(10, activation="softmax")])

    model = build()
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    """
    findings = analyze_source(src(source))
    assert [(f.code, f.line) for f in findings] == [("static.probabilities_with_from_logits", 2)]


def test_custom_training_loop_loss_is_matched_with_an_uncompiled_model():
    source = """
    model = keras.Sequential([layers.Flatten(), layers.Dense(10, activation="softmax")])
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    with tf.GradientTape() as tape:
        loss = loss_fn(y, model(x))
    """
    assert codes(analyze_source(src(source))) == ["static.probabilities_with_from_logits"]


def test_each_compile_pairs_its_own_model():
    # A softmax model with a plain loss and a logits model with from_logits:
    # both right, even though the notebook has softmax and from_logits.
    source = """
    probs = keras.Sequential([layers.Flatten(), layers.Dense(10, activation="softmax")])
    probs.compile("adam", "sparse_categorical_crossentropy")
    logits = keras.Sequential([layers.Flatten(), layers.Dense(10)])
    logits.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    """
    assert analyze_source(src(source), num_classes=10) == []


def test_from_logits_finding_crosses_cells_but_reports_only_in_solution_cells():
    model_cell = """
    model = keras.Sequential([layers.Flatten(), layers.Dense(10, activation="softmax")])
    """
    compile_cell = f"""
    model.compile("adam", {LOGITS_LOSS})
    """
    student_model = analyze_notebook(notebook((model_cell, "solution"), (compile_cell, "locked")))
    assert [(f.code, f.cell_index, f.line) for f in student_model] == [
        ("static.probabilities_with_from_logits", 0, 1)]
    student_loss = analyze_notebook(notebook((model_cell, "locked"), (compile_cell, "solution")))
    assert [(f.code, f.cell_index, f.line) for f in student_loss] == [
        ("static.probabilities_with_from_logits", 1, 1)]
    instructor_only = analyze_notebook(notebook((model_cell, "locked"), (compile_cell, "locked"),
                                                ("x = 1", "solution")))
    assert instructor_only == []


def test_output_units_in_a_sequential_list():
    source = "model = keras.Sequential([layers.Flatten(), layers.Dense(20, activation='softmax')])"
    (finding,) = analyze_source(source, num_classes=10)
    assert finding.code == "static.output_units" and finding.params == {"units": 20, "num_classes": "10"}
    assert analyze_source(source, num_classes=20) == []
    assert analyze_source(source, num_classes=[25, 200]) != []
    assert analyze_source(source.replace("20", "200"), num_classes=[25, 200]) == []


@pytest.mark.parametrize("source", [
    "m = keras.Sequential([layers.Flatten(), layers.Dense(n_classes, activation='softmax')])",
    "m = keras.Sequential([layers.Flatten(), layers.Dense(1, activation='sigmoid')])",  # binary, 2 classes
    "features = keras.Sequential([layers.Flatten(), layers.Dense(128, activation='relu')])",
    "m = keras.Sequential([layers.Dense(64, activation='relu'), layers.Flatten()])",
    "m = keras.Sequential([layers.Flatten(), layers.Dense(5)])",  # linear, no classification loss known
])
def test_output_units_only_judged_on_literal_classifier_heads(source):
    assert analyze_source(source, num_classes=2) == []


def test_output_units_on_a_linear_head_compiled_with_from_logits():
    source = f"""
    model = keras.Sequential([layers.Flatten(), layers.Dense(5)])
    model.compile("adam", {LOGITS_LOSS})
    """
    assert codes(analyze_source(src(source), num_classes=10)) == ["static.output_units"]


def test_sigmoid_multiclass_with_a_categorical_loss():
    source = """
    model = keras.Sequential([layers.Flatten(), layers.Dense(10, activation="sigmoid")])
    model.compile(optimizer="sgd", loss="categorical_crossentropy")
    """
    (finding,) = analyze_source(src(source), num_classes=10)
    assert finding.code == "static.sigmoid_multiclass" and finding.severity == "hint"
    assert 'activation="softmax"' in finding.message("en")


@pytest.mark.parametrize("source", [
    # multi-label: sigmoid with binary cross-entropy is right
    "model = keras.Sequential([layers.Dense(10, activation='sigmoid')])\n"
    "model.compile('adam', 'binary_crossentropy')",
    # binary: one sigmoid unit
    "model = keras.Sequential([layers.Dense(1, activation='sigmoid')])\n"
    "model.compile('adam', keras.losses.BinaryCrossentropy())",
])
def test_sigmoid_where_it_belongs_is_fine(source):
    assert analyze_source(source) == []


# ------------------------------------------------------ validation on test

@pytest.mark.parametrize("source", [
    "model.fit(x, y, validation_data=(x_test, y_test))",
    "model.fit(x, y, validation_data=[X_test, Y_test])",
    "model.fit(x, y, validation_data=(Xtest / 255.0, keras.utils.to_categorical(ytest)))",
    "model.fit_generator(gen, validation_data=(imagenes_prueba, etiquetas_prueba))",
    "model.fit(train_ds, validation_data=test_ds)",
])
def test_validation_on_test(source):
    findings = only(analyze_source(source), "static.validation_on_test")
    assert len(findings) == 1 and findings[0].severity == "warning"
    assert "validation_split=0.1" in findings[0].message("en")


@pytest.mark.parametrize("source", [
    "model.fit(x, y, validation_data=(x_val, y_val))",
    "model.fit(x, y, validation_split=0.1)",
    "model.fit(x, y, validation_data=(latest_x, latest_y))",
    "model.evaluate(x_test, y_test)",
])
def test_validation_not_on_test_is_fine(source):
    assert analyze_source(source) == []


# ------------------------------------------------------ reference builders

@pytest.mark.parametrize("source, line", [
    ("import cnnkit.models", 1),
    ("import cnnkit.models as ref", 1),
    ("from cnnkit.models import build", 1),
    ("from cnnkit import models", 1),
    ("from cnnkit.models.lenet import build_lenet", 1),
    ("import cnnkit\nmodel = cnnkit.models.build('keras_cifar10_cnn')", 2),
    ("import importlib\nref = importlib.import_module('cnnkit.models')", 2),
])
def test_reference_builders_are_errors(source, line):
    findings = analyze_source(source)
    assert [(f.code, f.severity, f.line) for f in findings] == [("static.reference_model", "error", line)]
    assert "cnnkit.models" in findings[0].message("es")


def test_reference_builder_call_after_an_import_in_a_locked_cell():
    nb = notebook(("from cnnkit import models", "locked"),
                  ("model = models.build('keras_cifar10_cnn')", "solution"))
    (finding,) = analyze_notebook(nb)
    assert (finding.code, finding.cell_index, finding.line) == ("static.reference_model", 1, 1)
    assert finding.params["what"] == "models.build(...)"


def test_other_cnnkit_use_is_fine():
    source = "import cnnkit\nPROFILE = cnnkit.setup(seed=0)\ndata = cnnkit.data.course_dataset('cifar10')"
    assert analyze_source(source) == []


def test_rebinding_models_to_keras_clears_the_reference_name():
    findings = analyze_source("from cnnkit import models\nfrom tensorflow.keras import models\nm = models.Sequential()")
    assert [(f.code, f.line) for f in findings] == [("static.reference_model", 1)]


# ------------------------------------------------------ parsing

def test_ipython_magics_do_not_break_parsing_and_keep_line_numbers():
    source = src("""
    %matplotlib inline
    !pip install -q something
    files = !ls data
    model.fit?
    if True:
        %time model.fit_generator(gen)
    model.predict_classes(x)
    """)
    findings = analyze_source(source)
    assert [(f.code, f.line) for f in findings] == [("static.predict_classes", 7)]


def test_python_cell_magic_body_is_analysed():
    (finding,) = analyze_source("%%time\nhistory = model.fit_generator(gen, steps_per_epoch=10)")
    assert (finding.code, finding.line) == ("static.keras2_generator_method", 2)


def test_non_python_cell_magic_is_skipped():
    assert analyze_source("%%bash\nls -la | grep fit_generator(\n") == []


def test_syntax_error_becomes_a_finding_and_other_cells_still_count():
    nb = notebook(("model = keras.Sequential(\nmodel.add(Dense(10)", "solution"),
                  ("model.fit_generator(gen)", "solution"))
    findings = analyze_notebook(nb)
    assert [(f.code, f.severity, f.cell_index) for f in findings] == [
        ("static.syntax_error", "error", 0), ("static.keras2_generator_method", "warning", 1)]
    assert findings[0].line in (1, 2)
    assert findings[0].message("en").startswith(f"Syntax error on line {findings[0].line}:")


def test_pathologically_deep_code_does_not_crash_the_analysis():
    deep = "x = " + " + ".join(["1"] * 5000)
    nb = notebook((deep, "solution"), ("model.predict_classes(x)", "solution"))
    assert codes(analyze_notebook(nb)) == ["static.predict_classes"]


def test_top_level_await_parses():
    assert codes(analyze_source("await asyncio.sleep(0)\nmodel.predict_classes(x)")) == ["static.predict_classes"]


# ------------------------------------------------------ notebooks

def test_only_solution_cells_are_reported_by_default():
    nb = notebook(("# Instrucciones", "markdown"),
                  ("model.fit_generator(gen)", "locked"),
                  ("model.predict_generator(gen)", "solution"),
                  ("assert model.evaluate_generator(gen) > 0", "test"))
    (finding,) = analyze_notebook(nb)
    assert (finding.cell_index, finding.cell_id, finding.params["old"]) == (2, "cell-2", "predict_generator")
    everything = analyze_notebook(nb, solution_only=False)
    assert [f.cell_index for f in everything] == [1, 2, 3]


def test_notebook_without_nbgrader_metadata_reports_every_code_cell():
    nb = notebook(("model.fit_generator(gen)", None), ("text", "markdown"), ("model.predict_classes(x)", None))
    assert [(f.code, f.cell_index) for f in analyze_notebook(nb)] == [
        ("static.keras2_generator_method", 0), ("static.predict_classes", 2)]


def test_analyze_notebook_reads_a_path(tmp_path):
    path = tmp_path / "submission.ipynb"
    nbformat.write(notebook(*[(cell, "solution") for cell in SEED_003_CELLS]), path)
    assert "static.output_units" in codes(analyze_notebook(path, num_classes=10))


# ------------------------------------------------------ findings and messages

KITCHEN_SINK = src("""
from keras.preprocessing.image import ImageDataGenerator
from tensorflow.keras.preprocessing.image import ImageDataGenerator as Legacy
from keras.utils import np_utils
from keras.layers.core import Dense
from cnnkit import models
opt = SGD(lr=0.1, decay=1e-4)
other = keras.optimizers.rmsprop()
n = int(input())
model = keras.Sequential([layers.Flatten(input_shape=(8, 8)), layers.Conv2D(8, 3, 3), layers.Dense(7, activation="sigmoid")])
model.compile(opt, keras.losses.CategoricalCrossentropy(from_logits=True))
model.fit_generator(gen, validation_data=(x_test, y_test))
model.predict_classes(x)
print(model.layers[0].output_shape)
other_model = keras.Sequential([layers.Dense(10, activation="softmax")])
other_model.compile(opt, "sparse_categorical_crossentropy")
x = x_raw / 255
x = x / 255.0
model.add(
""")


def test_every_rule_renders_in_spanish_and_english():
    findings = analyze_source(KITCHEN_SINK.rsplit("\n", 1)[0], num_classes=10)
    findings += analyze_source("model.add(")
    assert set(codes(findings)) == set(static.SEVERITY_OF)
    for finding in findings:
        assert finding.severity in static.SEVERITIES
        spanish, english = finding.message("es"), finding.message("en")
        assert spanish and english and spanish != english
        assert "{" not in spanish and "{" not in english  # every placeholder filled


def test_message_codes_are_registered_with_both_languages():
    for code in static.SEVERITY_OF:
        assert code in messages.codes()
        for lang in messages.LANGUAGES:
            assert messages._CATALOGUE[code][lang]


def test_message_language_follows_the_environment(monkeypatch):
    (finding,) = analyze_source("model.predict_classes(x)")
    monkeypatch.setenv("CNNKIT_LANG", "en")
    assert finding.message().startswith("`model.predict_classes(...)` does not exist")
    monkeypatch.delenv("CNNKIT_LANG")
    assert finding.message().startswith("`model.predict_classes(...)` no existe")


def test_findings_are_json_round_trippable():
    nb = notebook(*[(cell, "solution") for cell in SEED_003_CELLS])
    findings = analyze_notebook(nb, num_classes=10)
    text = json.dumps([finding.to_json() for finding in findings])
    restored = [Finding.from_json(data) for data in json.loads(text)]
    assert restored == findings
    assert set(json.loads(text)[0]) == {"code", "severity", "cell_index", "cell_id", "line", "params"}


def test_one_optimizer_compiled_into_two_models_is_an_error():
    first, second = src("""
        opt = keras.optimizers.Adam(learning_rate=1e-3)
        model_a = keras.Sequential([layers.Dense(10, activation="softmax")])
        model_a.compile(optimizer=opt, loss="sparse_categorical_crossentropy")
        model_a.compile(opt, loss="sparse_categorical_crossentropy")      # the same model again: fine
    """), src("""
        model_b = keras.Sequential([layers.Dense(10, activation="softmax")])
        model_b.compile(optimizer=opt, loss="sparse_categorical_crossentropy")
        opt = keras.optimizers.SGD(0.01)                                     # a new object: fine again
        model_b.compile(optimizer=opt, loss="sparse_categorical_crossentropy")
        model_a.compile(optimizer=opt, loss="sparse_categorical_crossentropy")
    """)
    findings = [f for f in analyze_notebook(notebook((first, "solution"), (second, "solution")))
                if f.code == "static.shared_optimizer"]
    assert [(f.cell_index, f.line) for f in findings] == [(1, 2), (1, 5)]
    assert findings[0].params == {"optimizer": "opt", "first": "model_a", "model": "model_b",
                                  "constructor": "keras.optimizers.Adam(learning_rate=0.001)"}
    assert "model_b.compile(optimizer=keras.optimizers.Adam(learning_rate=0.001), ...)" in findings[0].message("es")


def test_images_divided_by_255_twice_are_flagged():
    locked = src("""
        x_train = x_train_raw.astype("float32") / 255.0
        x_test = x_test_raw.astype("float32") / 255.0
        x_small = x_train[:100]
    """)
    student = src("""
        x_train = x_train.astype("float32") / 255
        x_test /= 255.0
        x_small = x_small / 2
        x_fresh = x_train_raw / 255.0
    """)
    findings = [f for f in analyze_notebook(notebook((locked, "locked"), (student, "solution")))
                if f.code == "static.rescaled_twice"]
    assert [(f.line, f.params["source"], f.params["line"]) for f in findings] == [(1, "x_train", 1), (2, "x_test", 2)]
    assert "ya está en [0, 1]" in findings[0].message("es")
