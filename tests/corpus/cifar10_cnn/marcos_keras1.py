# Marcos: the Keras cifar10_cnn example script as older course notes print it — Keras 1's
# lowercase optimizer with lr= and decay=, Keras 2's metrics=['acc'] — retyped into exercise 2.
# `keras.optimizers.rmsprop` does not exist in Keras 3: his 3×3 training cell fails, and the
# tests that need the trained 3×3 model fail with it. His 5×5 cell spells the class right
# (RMSprop, still with lr=): it runs through cnnkit's Keras-2 shims.

# %% answer: train_3x3
opt = keras.optimizers.rmsprop(lr=0.0001, decay=1e-6)
model_3x3.compile(loss='sparse_categorical_crossentropy', optimizer=opt, metrics=['acc'])
start = time.process_time()
history_3x3 = model_3x3.fit(x_train2, y_train2, batch_size=S2.batch_size, epochs=S2.epochs,
                            shuffle=True)
cpu_time_3x3 = time.process_time() - start

# %% answer: model_5x5
model_5x5 = keras_example_cnn(5)
model_5x5.compile(loss='sparse_categorical_crossentropy',
                  optimizer=keras.optimizers.RMSprop(lr=S2.learning_rate, decay=1e-6), metrics=['acc'])
start = time.process_time()
history_5x5 = model_5x5.fit(x_train2, y_train2, batch_size=S2.batch_size, epochs=S2.epochs, shuffle=True)
cpu_time_5x5 = time.process_time() - start
