# Lucía: VGG-19 the way a Keras-1 era blog post builds it — `Conv2D(filters, 3, 3)` (Keras 1's
# rows, cols) and `input_shape=` on the first layer. Under Keras 2+ the third positional
# argument is the *stride*: every convolution shrinks the image by 3, so the output shapes
# are wrong (and block 5 cannot even be built), while the parameter counts, which do not
# depend on the stride, are right. The hints give `Conv2D(filters, (3, 3))`.

# %% answer: act1_helper
def add_vgg_block(model, n_convs, filters):
    for i in range(n_convs):
        model.add(layers.Conv2D(filters, 3, 3, activation='relu', padding='same'))
    model.add(layers.MaxPooling2D((2, 2), strides=(2, 2)))
    return model

# %% answer: act1_model
model_b2 = keras.Sequential(name="vgg19_b2")
model_b2.add(layers.Conv2D(64, 3, 3, activation='relu', padding='same', input_shape=(224, 224, 3)))
model_b2.add(layers.Conv2D(64, 3, 3, activation='relu', padding='same'))
model_b2.add(layers.MaxPooling2D((2, 2), strides=(2, 2)))
add_vgg_block(model_b2, 2, 128)
model_b2.summary()
params_b2 = model_b2.count_params()
params_block2_conv1 = 128 * 3 * 3 * 64 + 128
