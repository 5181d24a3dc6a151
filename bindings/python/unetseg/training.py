"""The high level: :func:`fit` (a whole training run, as the post's script and the ``unetseg train`` CLI),
:func:`evaluate` (Dice per volume and per slice) and :func:`predict` (masks for a folder of slices).

Each shows a tqdm progress bar when tqdm is installed and ``progress`` is True. Callbacks may stop the
work by returning False (raising :class:`~unetseg.errors.Cancelled`); an exception they raise, Ctrl-C
included, stops the library cleanly and then propagates.
"""

from __future__ import annotations

import os
from ctypes import byref, c_int32, c_int64, create_string_buffer
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Union

from . import _arguments as arguments
from ._callbacks import CallbackRelay, ProgressBar
from ._convert import NAME_CAPACITY, PathLike, augmentation_params, path_bytes
from ._lib import lib
from ._types import (
    BatchCallback,
    BatchProgress,
    EpochCallback,
    EpochMetrics,
    EvaluationHandle,
    EvaluationMetrics,
    LossValues,
    ModelHandle,
    ProgressCallback,
    VolumeScores,
)
from .data import NORMALIZATIONS, POST_AUGMENTATION
from .nn import UNet, UNetConfig


@dataclass(frozen=True)
class Losses:
    """Mean binary cross-entropy, dice loss and their weighted total."""

    bce: float
    dice: float
    loss: float

    @classmethod
    def _from_c(cls, values: LossValues) -> "Losses":
        return cls(values.bce, values.dice, values.loss)


@dataclass(frozen=True)
class BatchReport:
    """One training batch: its losses, the epoch's running means and the speed so far."""

    epoch: int
    batch: int
    batch_count: int
    losses: Losses
    running_mean: Losses
    slices_per_second: float

    @classmethod
    def _from_c(cls, p: BatchProgress) -> "BatchReport":
        return cls(p.epoch, p.batch, p.batch_count, Losses._from_c(p.losses), Losses._from_c(p.running_mean),
                   p.slices_per_second)


@dataclass(frozen=True)
class EpochReport:
    """One finished epoch: mean training losses, validation losses (None without a validation folder),
    the learning rate after its last step and its wall time."""

    epoch: int
    train: Losses
    valid: Optional[Losses]
    lr: float
    seconds: float

    @classmethod
    def _from_c(cls, m: EpochMetrics) -> "EpochReport":
        return cls(m.epoch, Losses._from_c(m.train), Losses._from_c(m.valid) if m.has_valid else None, m.lr,
                   m.seconds)

    def post_lines(self) -> List[str]:
        """The epoch as the post prints it ("Epoch 1, training: loss:0.304232, bce: 0.148578, dice: ...")."""
        lines = [f"Epoch {self.epoch}, training: loss:{self.train.loss:.6f}, bce: {self.train.bce:.6f}, "
                 f"dice: {self.train.dice:.6f}"]
        if self.valid is not None:
            lines.append(f"Epoch {self.epoch}, validation: loss:{self.valid.loss:.6f}, bce: {self.valid.bce:.6f}, "
                         f"dice: {self.valid.dice:.6f}")
        return lines


@dataclass
class TrainingRun:
    """What :func:`fit` returns: the trained model (in training mode), the epochs it saw and the run folder
    (``model_<epoch>.safetensors``, ``best.safetensors``, ``log.csv``, ``log.json``)."""

    model: UNet
    history: List[EpochReport]
    out_dir: Path

    @property
    def last(self) -> EpochReport:
        """The last epoch's report."""
        return self.history[-1]


#: The optimisers of :func:`fit`, in the order of their numbers in ``unetseg_train_params``.
OPTIMIZERS = ("sgd", "adam")


def fit(
    train_dir: PathLike,
    out_dir: PathLike,
    valid_dir: Optional[PathLike] = None,
    *,
    epochs: Optional[int] = None,
    batch_size: Optional[int] = None,
    lr: Optional[float] = None,
    momentum: Optional[float] = None,
    model: Optional[UNetConfig] = None,
    dice_weight: Optional[float] = None,
    augmentation: Optional[Sequence[float]] = POST_AUGMENTATION,
    random_sampling: Optional[bool] = None,
    seed: Optional[int] = None,
    threads: Optional[int] = None,
    loader_workers: Optional[int] = None,
    resume: bool = False,
    overwrite: bool = False,
    checkpoint_every_epoch: Optional[bool] = None,
    distributed: bool = False,
    on_batch: Optional[Callable[[BatchReport], Optional[bool]]] = None,
    on_epoch: Optional[Callable[[EpochReport], Optional[bool]]] = None,
    progress: bool = True,
    optimizer: str = "sgd",
    normalization: str = "minmax",
) -> TrainingRun:
    """Trains the post's U-Net on ``train_dir`` as the post does: per batch zero_grad, forward,
    ``0.3 * dice + 0.7 * bce``, backward, SGD step and one-cycle step; per epoch the mean losses on both
    folders, a checkpoint and the logs in ``out_dir``.

    Arguments left as None take the library's defaults, the post's: 20 epochs of batches of 4, one-cycle
    up to lr 0.1 with momentum 0.9, the post's model, dice weight 0.3 (1 is the dice-only loss of Buda et al.
    2019), lesion-weighted sampling, seed 777.
    ``augmentation`` is ``(scale, angle, flip)``, the post's ``(0.05, 15, 0.5)`` by default, or None.
    Everything random derives from ``seed``: the same arguments give the same losses (here, in C, R and
    the CLI). ``on_batch`` and ``on_epoch`` may return False to stop; the state is saved and ``resume=True``
    continues. A non-empty ``out_dir`` raises :class:`FileError` (nothing in it changes) unless ``resume``
    continues the run in it or ``overwrite`` replaces it (deleting that run's checkpoints, state and logs).
    With ``progress`` a tqdm bar runs per epoch and the post's epoch lines are printed. ``optimizer`` is
    ``"sgd"`` (the post's) or ``"adam"`` (torch.optim.Adam's rules, betas (0.9, 0.999) with the first cycled by
    the schedule as SGD's momentum, eps 1e-8, as Buda et al. 2019); ``lr`` None is 0.1 with SGD, 1e-3 with Adam.
    ``normalization`` is how slices are scaled as read (see :class:`~unetseg.BrainSegDataset`); the
    checkpoints record it, and :func:`evaluate` and :func:`predict` of the model use it.

    ``distributed=True`` makes this process one rank of an Open MPI job (``mpirun -np N python script.py``,
    mpi4py not needed): every rank calls ``fit`` with the same arguments, ``batch_size`` is the global
    batch, each rank computes its share, only rank 0 writes ``out_dir``, and every rank returns the same
    history; ranks other than 0 show no progress. An error on any rank is raised on every rank, naming the rank (and the file).
    """
    optimizer_number = arguments.choice("optimizer", optimizer, OPTIMIZERS)
    if lr is None and optimizer == "adam":
        lr = 1e-3
    params = lib.unetseg_train_default_params()
    train_bytes, out_bytes = arguments.path("train_dir", train_dir), arguments.path("out_dir", out_dir)
    valid_bytes = None if valid_dir is None else arguments.path("valid_dir", valid_dir)
    params.train_dir, params.out_dir, params.valid_dir = train_bytes, out_bytes, valid_bytes
    arguments.set_fields(params, epochs=epochs, batch_size=batch_size, lr=lr, momentum=momentum,
                         dice_weight=dice_weight, random_sampling=random_sampling, seed=seed, threads=threads,
                         loader_workers=loader_workers, checkpoint_every_epoch=checkpoint_every_epoch,
                         optimizer=optimizer_number)
    params.normalization = arguments.choice("normalization", normalization, NORMALIZATIONS)
    params.resume = bool(resume)
    params.overwrite = bool(overwrite)
    params.distributed = bool(distributed)
    if distributed and os.environ.get("OMPI_COMM_WORLD_RANK", "0") != "0":
        progress = False  # rank 0 alone shows progress and the epoch lines
    if model is not None:
        params.model = arguments.instance("model", model, UNetConfig)._to_params()
    params.augmentation = augmentation_params(augmentation)

    relay = CallbackRelay()
    history: List[EpochReport] = []
    bar = ProgressBar("epoch", enabled=progress, unit="batch", leave=False)

    def batch_done(report: BatchReport) -> Optional[bool]:
        bar.description = f"epoch {report.epoch}"
        bar.update(report.batch, report.batch_count, loss=f"{report.running_mean.loss:.4f}")
        return on_batch(report) if on_batch is not None else True

    def epoch_done(report: EpochReport) -> Optional[bool]:
        history.append(report)
        bar.close()
        if progress:
            for line in report.post_lines():
                bar.write(line)
        return on_epoch(report) if on_epoch is not None else True

    batch_callback = BatchCallback(lambda p, _user: relay.call(batch_done, BatchReport._from_c(p.contents)))
    epoch_callback = EpochCallback(lambda m, _user: relay.call(epoch_done, EpochReport._from_c(m.contents)))
    handle = ModelHandle()
    last = EpochMetrics()
    try:
        relay.run(lambda: lib.unetseg_train(byref(params), batch_callback, epoch_callback, None, byref(last),
                                            byref(handle)))
    finally:
        bar.close()
    trained = UNet.__new__(UNet)
    trained._adopt_handle(handle)
    if not history or history[-1].epoch != last.epoch:  # a resumed run that had nothing left to do
        history.append(EpochReport._from_c(last))
    return TrainingRun(trained, history, Path(os.fsdecode(out_bytes)))


@dataclass(frozen=True)
class Evaluation:
    """A model's scores on a folder of slices with masks: Dice of each patient's volume (prediction > 0.5,
    as Buda et al. 2019), their mean and median, the mean per-slice Dice (NaN when no slice has a lesion in
    prediction or truth), and the mean per-slice BCE and dice loss. ``volumes`` maps each patient to all
    the scores of its volume (the keys of ``metrics.json``'s ``volumes``: dice, precision, sensitivity,
    hausdorff95 and diagonal in voxels, relative_volume_difference, predicted_voxels, true_voxels);
    ``summary`` has the mean and median of precision, sensitivity, hausdorff95,
    absolute_volume_difference and relative_volume_difference over volumes (``mean_precision``, ...)."""

    mean_volume_dice: float
    median_volume_dice: float
    mean_slice_dice: float
    bce: float
    dice_loss: float
    slice_count: int
    patient_count: int
    volume_dice: Dict[str, float] = field(default_factory=dict)
    volumes: Dict[str, Dict[str, float]] = field(default_factory=dict)
    summary: Dict[str, float] = field(default_factory=dict)


def _volume_scores(result: EvaluationHandle) -> Dict[str, Dict[str, float]]:
    count = c_int32()
    lib.unetseg_evaluation_volume_count(result, byref(count))
    volumes: Dict[str, Dict[str, float]] = {}
    for index in range(count.value):
        patient, scores = create_string_buffer(NAME_CAPACITY), VolumeScores()
        lib.unetseg_evaluation_patient(result, index, patient, NAME_CAPACITY)
        lib.unetseg_evaluation_volume_scores(result, index, byref(scores))
        volumes[patient.value.decode()] = {name: getattr(scores, name) for name, _ in VolumeScores._fields_}
    return volumes


_SUMMARY_FIELDS = [name for name, _ in EvaluationMetrics._fields_[7:]]

#: The post-processings of :func:`evaluate`, in the order of their numbers in ``unetseg_evaluate_params``.
POSTPROCESSING = ("none", "largest-component")


def evaluate(
    model: UNet,
    data_dir: PathLike,
    batch_size: Optional[int] = None,
    predictions_dir: Optional[PathLike] = None,
    output_dir: Optional[PathLike] = None,
    model_path: Optional[PathLike] = None,
    progress: Union[bool, Callable[[int, int], Optional[bool]]] = True,
    postprocess: str = "none",
    normalization: Optional[str] = None,
) -> Evaluation:
    """Scores ``model`` on every slice under ``data_dir`` (evaluation mode, no augmentation; the model's
    mode is restored). ``predictions_dir`` receives the predicted masks as 0/255 TIFFs
    (``PATIENT/PATIENT_N_pred.tif``); ``output_dir``
    ``metrics.json``, ``predictions.png``, ``contours.png``, ``volume_dice.png`` and
    ``overlays/PATIENT.png`` (and ``loss_curves.png`` when ``model_path`` has a ``log.json`` beside it). ``batch_size`` None is the library's 8. ``progress`` True shows a tqdm
    bar; a function ``(slices_done, slices)`` is called instead and may return False to stop. Both folders
    must lie outside ``data_dir`` (links resolved): inputs are never replaced. ``postprocess`` is ``"none"`` or
    ``"largest-component"``: each patient's binarised volume keeps only its largest 6-connected component
    before it is scored and written, as Buda et al. (2019) do (the losses stay those of the raw output).
    ``normalization`` None scales slices as the model was trained (recorded in its checkpoint or by
    :func:`fit`; ``"minmax"`` when nothing is); ``"minmax"``, ``"zscore"`` or ``"percentile"`` must match the
    recorded one (``InvalidArgument`` otherwise)."""
    arguments.instance("model", model, UNet)
    params = arguments.set_fields(lib.unetseg_evaluate_default_params(), batch_size=batch_size,
                                  postprocess=arguments.choice("postprocess", postprocess, POSTPROCESSING))
    if normalization is not None:
        params.normalization = arguments.choice("normalization", normalization, NORMALIZATIONS)
    paths = {name: None if value is None else arguments.path(name, value)
             for name, value in dict(predictions_dir=predictions_dir, output_dir=output_dir,
                                     model_path=model_path).items()}
    params.predictions_dir, params.output_dir, params.model_path = (
        paths["predictions_dir"], paths["output_dir"], paths["model_path"])
    relay = CallbackRelay()
    bar = ProgressBar("evaluate", enabled=progress is True, unit="slice")
    report = progress if callable(progress) else bar.update
    callback = ProgressCallback(lambda done, total, _user: relay.call(report, done, total))
    metrics, result = EvaluationMetrics(), EvaluationHandle()
    try:
        data = arguments.path("data_dir", data_dir)
        relay.run(lambda: lib.unetseg_evaluate(model.handle, data, byref(params), callback, None,
                                               byref(metrics), byref(result)))
        volumes = _volume_scores(result)
    finally:
        bar.close()
        lib.unetseg_evaluation_free(result)
    return Evaluation(metrics.mean_volume_dice, metrics.median_volume_dice, metrics.mean_slice_dice, metrics.bce,
                      metrics.dice_loss, metrics.slice_count, metrics.patient_count,
                      {patient: scores["dice"] for patient, scores in volumes.items()}, volumes,
                      {name: getattr(metrics, name) for name in _SUMMARY_FIELDS})


def predict(
    model: UNet,
    input: PathLike,
    out_dir: PathLike,
    progress: Union[bool, Callable[[int, int], Optional[bool]]] = True,
) -> int:
    """Segments ``input`` (a slice TIFF, or a folder searched recursively; existing masks are ignored) and
    writes each predicted mask (prediction > 0.5) as a 0/255 TIFF under ``out_dir``
    (``PATIENT/PATIENT_N_pred.tif`` for Kaggle-named slices, never named like a label). An ``out_dir`` that
    is, contains or lies inside ``input`` (links resolved) is refused with ``InvalidArgument``: inputs
    are never replaced. Slices are scaled as the model was trained (its recorded normalization). Returns the
    number of masks written."""
    arguments.instance("model", model, UNet)
    relay = CallbackRelay()
    bar = ProgressBar("predict", enabled=progress is True, unit="image")
    report = progress if callable(progress) else bar.update
    callback = ProgressCallback(lambda done, total, _user: relay.call(report, done, total))
    written = c_int64()
    try:
        source, destination = arguments.path("input", input), arguments.path("out_dir", out_dir)
        relay.run(lambda: lib.unetseg_predict_folder(model.handle, source, destination,
                                                     callback, None, byref(written)))
    finally:
        bar.close()
    return written.value
