# Pablo: BaseNet right; for the improved network he reuses the optimizer object he created
# for BaseNet. In Keras 3 an optimizer belongs to the variables it first trained: TensorFlow
# raises `ValueError: Unknown variable` in `fit`, so every test of the improved model fails,
# each naming his training cell and the fix (a new optimizer per compile).

# %% answer: basenet_train
S = PROFILE["basenet_cifar100.basenet"]
opt = keras.optimizers.Adam(learning_rate=1e-3)
basenet.compile(optimizer=opt, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
history_base = basenet.fit(x_train, y_train, validation_data=(x_val, y_val),
                           epochs=S.epochs, batch_size=S.batch_size, verbose=2)
test_loss_base, test_acc_base = basenet.evaluate(x_test, y_test, verbose=0)

# %% answer: improved
S = PROFILE["basenet_cifar100.improved"]
l2 = keras.regularizers.L2(1e-4)


def conv_block(filters):
    return [layers.Conv2D(filters, (3, 3), padding="same", use_bias=False, kernel_regularizer=l2),
            layers.BatchNormalization(), layers.Activation("relu"),
            layers.MaxPooling2D((2, 2)), layers.Dropout(0.25)]


model_improved = keras.Sequential([
    keras.Input(shape=(32, 32, 3)), normalizer, augment,
    *conv_block(32), *conv_block(64), *conv_block(128),
    layers.Flatten(), layers.Dense(256, activation="relu", kernel_regularizer=l2), layers.Dropout(0.5),
    layers.Dense(25, activation="softmax"),
], name="basenet_improved")
model_improved.compile(optimizer=opt, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
early_stopping = keras.callbacks.EarlyStopping(monitor="val_loss", patience=S.patience, restore_best_weights=True)
history_improved = model_improved.fit(x_train, y_train, validation_data=(x_val, y_val), epochs=S.epochs,
                                      batch_size=S.batch_size, callbacks=[early_stopping], verbose=2)
test_loss_improved, test_acc_improved = model_improved.evaluate(x_test, y_test, verbose=0)
