# Nerea: right answers, written as the TensorFlow tutorials of a few years ago taught her —
# labels one-hot encoded *in place* (y_test, y_train2 and the exercise-3 labels overwritten),
# categorical_crossentropy, argmax wherever a class is needed — and names of her own that
# shadow what the notebook imported: a helper `evaluate`, `layers = model.layers`, a `data`
# dict and a `checks` list. None of it may cost her a point: locked cells read only private
# names, and the checks take one-hot labels. Full marks.

# %% answer: train_3x3
y_train2 = keras.utils.to_categorical(y_train2, 10)
y_test = keras.utils.to_categorical(y_test, 10)
model_3x3.compile(optimizer=keras.optimizers.RMSprop(learning_rate=S2.learning_rate),
                  loss="categorical_crossentropy", metrics=["accuracy"])
start = time.process_time()
history_3x3 = model_3x3.fit(x_train2, y_train2, batch_size=S2.batch_size, epochs=S2.epochs, verbose=2)
cpu_time_3x3 = time.process_time() - start
checks = ["entrenado", f"{cpu_time_3x3:.1f} s"]

# %% answer: formula_3x3
def conv_params(N, m, NC):
    return N * m * m * NC + N


layers_3x3 = model_3x3.layers
conv_formula_3x3 = [conv_params(32, 3, 3), conv_params(32, 3, 32), conv_params(64, 3, 32), conv_params(64, 3, 64)]
conv_summary_3x3 = [l.count_params() for l in layers_3x3 if "conv" in l.name]

# %% answer: evaluate_3x3
from sklearn.metrics import confusion_matrix


def evaluate(model):
    """My helper: (accuracy, predicted labels, confusion matrix) on the test set."""
    _, accuracy = model.evaluate(x_test, y_test, verbose=0)
    predicted = np.argmax(model.predict(x_test, verbose=0), axis=1)
    return accuracy, predicted, confusion_matrix(np.argmax(y_test, axis=1), predicted, labels=range(10))


test_accuracy_3x3, y_pred_3x3, cm_3x3 = evaluate(model_3x3)
hits = cm_3x3.diagonal() / cm_3x3.sum(axis=1)
best_class_3x3, worst_class_3x3 = class_names[int(hits.argmax())], class_names[int(hits.argmin())]
data = {"3x3": test_accuracy_3x3}
print(data, best_class_3x3, worst_class_3x3)

# %% answer: model_5x5
layers = model_3x3.layers          # shadows keras.layers: she builds the 5×5 model from keras.layers
model_5x5 = keras.Sequential([keras.Input(shape=(32, 32, 3))] + [
    keras.layers.Conv2D(l.filters, (5, 5), padding=l.padding, activation="relu") if "conv" in l.name
    else l.__class__.from_config(l.get_config()) for l in layers], name="cnn_5x5")
model_5x5.compile(optimizer=keras.optimizers.RMSprop(learning_rate=S2.learning_rate),
                  loss="categorical_crossentropy", metrics=["accuracy"])
start = time.process_time()
history_5x5 = model_5x5.fit(x_train2, y_train2, batch_size=S2.batch_size, epochs=S2.epochs, verbose=2)
cpu_time_5x5 = time.process_time() - start

# %% answer: evaluate_5x5
test_accuracy_5x5, y_pred_5x5, cm_5x5 = evaluate(model_5x5)
conv_formula_5x5 = [conv_params(32, 5, 3), conv_params(32, 5, 32), conv_params(64, 5, 32), conv_params(64, 5, 64)]
conv_summary_5x5 = [l.count_params() for l in model_5x5.layers if "conv" in l.name]
more_params = "3x3" if model_3x3.count_params() > model_5x5.count_params() else "5x5"
more_conv_params = "3x3" if sum(conv_summary_3x3) > sum(conv_summary_5x5) else "5x5"
hits_5x5 = cm_5x5.diagonal() / cm_5x5.sum(axis=1)
best_class_5x5, worst_class_5x5 = class_names[int(hits_5x5.argmax())], class_names[int(hits_5x5.argmin())]
data["5x5"] = test_accuracy_5x5

# %% answer: model_best
from cnnkit.data import train_val_split
from cnnkit.recipes import one_cycle

model_best = keras.Sequential([
    keras.Input(shape=(32, 32, 3)),
    keras.layers.RandomFlip("horizontal"),
    keras.layers.RandomTranslation(0.0625, 0.0625),
    keras.layers.Normalization(mean=[0.491, 0.482, 0.447], variance=[0.061, 0.0595, 0.0686]),
    keras.layers.Reshape((16, 2, 16, 2, 3)),
    keras.layers.Permute((1, 3, 2, 4, 5)),
    keras.layers.Reshape((16, 16, 12)),
    *[layer for filters in (48, 96, 192) for layer in (
        keras.layers.Conv2D(filters, 3, padding="same", use_bias=False),
        keras.layers.BatchNormalization(momentum=0.9), keras.layers.Activation("relu"),
        keras.layers.MaxPooling2D())],
    keras.layers.GlobalMaxPooling2D(),
    keras.layers.Dense(10, activation="softmax"),
])
x_fit, y_fit, x_val, y_val = train_val_split(x_train3, y_train3, fraction=0.1, seed=0)
y_fit, y_val = keras.utils.to_categorical(y_fit, 10), keras.utils.to_categorical(y_val, 10)
steps = S3.epochs * int(np.ceil(len(x_fit) / S3.batch_size))
model_best.compile(optimizer=keras.optimizers.SGD(learning_rate=one_cycle(S3.learning_rate, steps), momentum=0.9,
                                                  nesterov=True),
                   loss="categorical_crossentropy", metrics=["accuracy"])
history_best = model_best.fit(x_fit, y_fit, validation_data=(x_val, y_val), batch_size=S3.batch_size,
                              epochs=S3.epochs, verbose=2)
test_loss_best, test_accuracy_best = model_best.evaluate(x_test, y_test, verbose=0)

# %% answer: predict_one
probabilities = model_best.predict(x_test[116:117], verbose=0)[0]
pred_class = class_names[int(np.argmax(probabilities))]
pred_prob = float(probabilities.max())
print(pred_class, pred_prob, "real:", class_names[int(np.argmax(y_test[116]))])
