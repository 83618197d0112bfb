# Carla: correct ideas written the Keras 2 way, as older tutorials and the seed-002
# slides teach them. The grader runs them (through cnnkit's Keras 2 shims) and the
# feedback gives the Keras 3 spelling of each.

# %% answer: train_3x3
opt = keras.optimizers.RMSprop(lr=S2.learning_rate, decay=1e-6)   # the Keras example's optimizer
model_3x3.compile(optimizer=opt, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
start = time.process_time()
history_3x3 = model_3x3.fit(x_train2, y_train2, batch_size=S2.batch_size, epochs=S2.epochs, verbose=2)
cpu_time_3x3 = time.process_time() - start

# %% answer: model_best
from keras.preprocessing.image import ImageDataGenerator
from keras.models import Sequential
from keras.layers import Conv2D, MaxPooling2D, BatchNormalization, Activation, Flatten, Dense, Dropout

model_best = Sequential()
model_best.add(Conv2D(32, (3, 3), padding="same", input_shape=(32, 32, 3)))
model_best.add(BatchNormalization(momentum=0.9))
model_best.add(Activation("relu"))
model_best.add(MaxPooling2D((2, 2)))
model_best.add(Conv2D(64, (3, 3), padding="same"))
model_best.add(BatchNormalization(momentum=0.9))
model_best.add(Activation("relu"))
model_best.add(MaxPooling2D((2, 2)))
model_best.add(Flatten())
model_best.add(Dense(128, activation="relu"))
model_best.add(Dropout(0.4))
model_best.add(Dense(10, activation="softmax"))
model_best.compile(optimizer=keras.optimizers.Adam(lr=0.001),
                   loss="sparse_categorical_crossentropy", metrics=["accuracy"])

datagen = ImageDataGenerator(horizontal_flip=True, width_shift_range=0.1, height_shift_range=0.1,
                             validation_split=0.1)
history_best = model_best.fit_generator(
    datagen.flow(x_train, y_train, batch_size=S3.batch_size, subset="training"),
    steps_per_epoch=len(x_train) * 0.9 / S3.batch_size,
    epochs=S3.epochs,
    validation_data=datagen.flow(x_train, y_train, batch_size=S3.batch_size, subset="validation"),
    validation_steps=len(x_train) * 0.1 / S3.batch_size)
test_loss_best, test_accuracy_best = model_best.evaluate(x_test, y_test, verbose=0)
print(f"test accuracy: {test_accuracy_best:.3f}")
