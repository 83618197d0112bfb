# Olga: a Fashion-MNIST lab written with Keras 2 habits — `metrics=['acc']` (accepted as
# accuracy) and, to save the model, `save_weights('fashion.h5')`, which Keras 3 refuses
# (the name must end in `.weights.h5`). The saving test fails and names her cell with the
# exact Keras 3 spelling; everything else is right.

# %% answer: cnn_train
S = PROFILE["fashion_mnist.cnn"]
model_cnn.compile(optimizer='adam', loss='sparse_categorical_crossentropy', metrics=['acc'])
history_cnn = model_cnn.fit(x_train, y_train, validation_data=(x_val, y_val),
                            epochs=S.epochs, batch_size=S.batch_size)
train_acc_cnn = model_cnn.evaluate(x_train, y_train, verbose=0)[1]
test_loss_cnn, test_acc_cnn = model_cnn.evaluate(x_test, y_test, verbose=0)
print('Test accuracy:', test_acc_cnn)

# %% answer: save
model_best.save_weights('fashion.h5')
saved_path = 'fashion.h5'
