"""Every check kind, one module per family; importing this package registers them all.

=================  ==========================================================
module             kinds
=================  ==========================================================
``values``         value, array, dataset_fact, class_indices
``models``         output_shape, weights, params, architecture, classifier, layer_attrs, contains_layers
``figures``        figure
``training``       history, cell_time
``predictions``    accuracy, measured_accuracy, confusion_matrix, class_extreme, per_class_accuracy, prediction, loss
``transfer``       features, feature_maps, svm_accuracy
``preprocessing``  validation_split, stratified, normalizer, augmentation, compare_accuracy
``saving``         saved_model
=================  ==========================================================
"""
from . import figures, models, predictions, preprocessing, saving, training, transfer, values  # noqa: F401
