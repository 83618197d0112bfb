# Alice: correct answers, written her own way.

# %% answer: class_grid
fig_classes, axes = plt.subplots(2, 5, figsize=(11, 5))
for label, ax in enumerate(axes.ravel()):
    first = int(np.flatnonzero(y_train == label)[0])
    ax.imshow(x_train_raw[first])
    ax.set_title(f"{class_names[label]} ({label})")
    ax.axis("off")
plt.show()

# %% answer: model_best
# Two convolutions per block (VGG style), BatchNorm, data augmentation inside the model.
from cnnkit.data import train_val_split

inputs = keras.Input(shape=(32, 32, 3))
x = layers.RandomFlip("horizontal")(inputs)
for filters in (32, 64):
    x = layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
    x = layers.BatchNormalization(momentum=0.9)(x)   # short runs: the moving averages must keep up
    x = layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
    x = layers.MaxPooling2D()(x)
x = layers.GlobalAveragePooling2D()(x)
x = layers.Dropout(0.3)(x)
outputs = layers.Dense(10, activation="softmax")(x)
model_best = keras.Model(inputs, outputs, name="alice_vgg_style")

x_fit, y_fit, x_val, y_val = train_val_split(x_train, y_train, fraction=0.1, seed=1)
model_best.compile(optimizer=keras.optimizers.Adam(learning_rate=2e-3),
                   loss="sparse_categorical_crossentropy", metrics=["accuracy"])
history_best = model_best.fit(x_fit, y_fit, validation_data=(x_val, y_val),
                              batch_size=S3.batch_size, epochs=S3.epochs, verbose=2)
test_loss_best, test_accuracy_best = model_best.evaluate(x_test, y_test, verbose=0)
print(f"test accuracy: {test_accuracy_best:.3f}")

# %% answer: answer_best
Usé dos convoluciones por bloque como en VGG, BatchNormalization para estabilizar el
entrenamiento, volteo horizontal como aumento de datos y pooling global en lugar de Flatten
para reducir parámetros. La validación es un 10 % del conjunto de entrenamiento.
