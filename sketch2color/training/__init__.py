"""Training: the GAN model, its losses and schedule, the run's callbacks and pictures, and ``train()``.

losses.py      adversarial, L1/L2, total-variation and VGG16 feature losses (per example)
gan.py         Pix2Pix, a keras.Model with its own train_step/test_step
schedules.py   learning-rate schedules that resume exactly
callbacks.py   checkpoints, batch-norm recalibration, previews, validation metrics, curves
plots.py       losses.png, metrics.png, progression.png
distribute.py  the tf.distribute strategy of --distribute, the global batch, the logical CPU split
loop.py        train(config): the whole run, resumable
"""

from sketch2color.training.loop import TrainResult, build_feature_loss, build_gan, train

__all__ = ["TrainResult", "build_feature_loss", "build_gan", "train"]
