# Bruno: the seed-003 notebook's bugs in exercise 3 — a 20-unit sigmoid output for
# 10 classes, a loss with from_logits=True on top of it, and the test set used for
# validation. Everything else is correct.

# %% answer: model_best
model_best = keras.Sequential()
model_best.add(layers.Conv2D(32, (3, 3), activation="relu", input_shape=(32, 32, 3)))
model_best.add(layers.MaxPooling2D((2, 2)))
model_best.add(layers.Conv2D(64, (3, 3), activation="relu"))
model_best.add(layers.MaxPooling2D((2, 2)))
model_best.add(layers.Conv2D(64, (3, 3), activation="relu"))
model_best.add(layers.Flatten())
model_best.add(layers.Dense(60, activation="relu"))
model_best.add(layers.Dense(20, activation="sigmoid"))

model_best.compile(optimizer="adam",
                   loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                   metrics=["accuracy"])
history_best = model_best.fit(x_train, y_train, epochs=S3.epochs,
                              validation_data=(x_test, y_test))
test_loss_best, test_accuracy_best = model_best.evaluate(x_test, y_test, verbose=0)
print(f"test accuracy: {test_accuracy_best:.3f}")
