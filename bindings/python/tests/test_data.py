"""Synthetic data, the patient split, BrainSegDataset, augmentation and DataLoader."""

from __future__ import annotations

import json
import math
import shutil

import numpy as np
import pytest

import unetseg
from unetseg import BrainSegDataset, DataLoader


@pytest.fixture(scope="module")
def dataset_root(tmp_path_factory):
    """A synthetic set: 4 patients of 8 to 9 slices of 32×32, seed 3."""
    root = tmp_path_factory.mktemp("synthetic") / "kaggle_3m"
    count = unetseg.synthesize(root, patients=4, min_slices=8, max_slices=9, size=32, seed=3, progress=False)
    return root, count


def images_of(batch):
    return np.asarray(batch[0]), np.asarray(batch[1])


# ---- synthesize ------------------------------------------------------------------------------------------


def test_synthesize_writes_the_kaggle_layout(dataset_root):
    root, count = dataset_root
    patients = sorted(p.name for p in root.iterdir() if p.is_dir())
    assert len(patients) == 4 and all(p.startswith("TCGA_") for p in patients)
    masks = list(root.glob("*/*_mask.tif"))
    assert len(masks) == count and 32 <= count <= 36
    assert len(list(root.glob("*/*.tif"))) == 2 * count


def test_synthesize_style_reaches_the_generator(tmp_path, dataset_root):
    root, count = dataset_root
    realistic = tmp_path / "realistic"
    assert unetseg.synthesize(realistic, patients=4, min_slices=8, max_slices=9, size=32, seed=3, progress=False,
                              style="realistic") == count
    names = sorted(p.relative_to(root) for p in root.glob("*/*.tif"))
    assert names == sorted(p.relative_to(realistic) for p in realistic.glob("*/*.tif"))
    assert any((root / n).read_bytes() != (realistic / n).read_bytes() for n in names if "mask" not in n.name)
    again = tmp_path / "simple"
    unetseg.synthesize(again, patients=4, min_slices=8, max_slices=9, size=32, seed=3, progress=False, style="simple")
    assert all((root / n).read_bytes() == (again / n).read_bytes() for n in names)
    with pytest.raises(unetseg.InvalidArgument, match="style must be one of 'simple', 'realistic', got 'fancy'"):
        unetseg.synthesize(tmp_path / "never", patients=1, progress=False, style="fancy")
    assert not (tmp_path / "never").exists()


def test_synthesize_is_reproducible_and_reports_progress(tmp_path, dataset_root):
    reports = []
    count = unetseg.synthesize(tmp_path / "again", patients=4, min_slices=8, max_slices=9, size=32, seed=3,
                               progress=lambda done, total: reports.append((done, total)))
    root, expected = dataset_root
    assert count == expected and reports[-1] == (4, 4) and [d for d, _ in reports] == [1, 2, 3, 4]
    first = sorted(root.glob("*/*_1.tif"))[0]
    assert (tmp_path / "again" / first.parent.name / first.name).read_bytes() == first.read_bytes()
    assert unetseg.synthesize(tmp_path / "bar", patients=1, min_slices=8, max_slices=8, size=32, progress=True) == 8


def test_synthesize_cancel_and_callback_exceptions(tmp_path):
    with pytest.raises(unetseg.Cancelled) as info:
        unetseg.synthesize(tmp_path / "a", patients=3, min_slices=8, max_slices=8, size=32,
                           progress=lambda done, total: done < 2)
    assert info.value.status == 6
    assert len([p for p in (tmp_path / "a").iterdir() if p.is_dir()]) == 2  # written so far stay

    class Stop(Exception):
        pass

    def failing(done, total):
        raise Stop("from the callback")

    with pytest.raises(Stop, match="from the callback"):
        unetseg.synthesize(tmp_path / "b", patients=3, min_slices=8, max_slices=8, size=32, progress=failing)
    assert len([p for p in (tmp_path / "b").iterdir() if p.is_dir()]) == 1


def test_synthesize_errors(tmp_path):
    with pytest.raises(unetseg.InvalidArgument, match="patients"):
        unetseg.synthesize(tmp_path / "x", patients=0, progress=False)
    with pytest.raises(unetseg.InvalidArgument, match="size"):
        unetseg.synthesize(tmp_path / "x", patients=1, size=7, progress=False)
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(unetseg.FileError, match="file"):
        unetseg.synthesize(blocker / "inside", patients=1, min_slices=8, max_slices=8, size=32, progress=False)


# ---- split -----------------------------------------------------------------------------------------------


def test_split_by_patient(dataset_root, tmp_path):
    root, _ = dataset_root
    n_train, n_valid = unetseg.split(root, tmp_path / "train", tmp_path / "valid", n_valid=1, seed=777)
    assert (n_train, n_valid) == (3, 1)
    assert len(list((tmp_path / "valid").iterdir())) == 1 and len(list((tmp_path / "train").iterdir())) == 3
    record = json.loads((tmp_path / "split.json").read_text())
    assert record["n_valid"] == 1 and len(record["train"]) == 3 and record["seed"] == "777"
    assert sorted(record["train"] + record["valid"]) == sorted(p.name for p in root.iterdir() if p.is_dir())
    # The same seed chooses the same patient; the source is not changed.
    unetseg.split(root, tmp_path / "again" / "train", tmp_path / "again" / "valid", n_valid=1, seed=777)
    assert [p.name for p in (tmp_path / "again" / "valid").iterdir()] == [p.name for p in (tmp_path / "valid").iterdir()]
    assert len([p for p in root.iterdir() if p.is_dir()]) == 4


def test_split_errors(dataset_root, tmp_path):
    root, _ = dataset_root
    with pytest.raises(unetseg.InvalidArgument, match="cannot choose 9 validation patients out of 4"):
        unetseg.split(root, tmp_path / "t", tmp_path / "v", n_valid=9)
    with pytest.raises(unetseg.FileError, match="nowhere"):
        unetseg.split(tmp_path / "nowhere", tmp_path / "t", tmp_path / "v", n_valid=1)


# ---- dataset ---------------------------------------------------------------------------------------------


def test_dataset_items(dataset_root):
    root, count = dataset_root
    with BrainSegDataset(root) as ds:
        assert len(ds) == count and ds.image_size == (32, 32)
        assert repr(ds) == f"BrainSegDataset({count} slices of 32x32)"
        image, mask = ds[0]
        assert image.shape == (3, 32, 32) and mask.shape == (1, 32, 32)
        values, labels = np.asarray(image), np.asarray(mask)
        assert values.min() >= 0 and values.max() <= 1 and values.max() > 0.9
        assert set(np.unique(labels)) <= {0.0, 1.0}
        np.testing.assert_array_equal(np.asarray(ds[-1][0]), np.asarray(ds[count - 1][0]))
        info = [ds.slice_info(i) for i in range(count)]
        assert [i.patient for i in info] == sorted(i.patient for i in info)
        assert info[0].number == 1 and info[1].number == 2
        lesion = [i for i in range(count) if info[i].lesion_pixels > 0]
        assert lesion and int(np.asarray(ds[lesion[0]][1]).sum()) == info[lesion[0]].lesion_pixels
        assert all(ds.sampled_slice(i) == i for i in range(count))


def test_random_sampling_prefers_lesions_and_is_reproducible(dataset_root):
    root, count = dataset_root
    with BrainSegDataset(root, random_sampling=True, seed=5) as ds, BrainSegDataset(root, random_sampling=True,
                                                                                    seed=5) as same:
        draws = [ds.sampled_slice(i, epoch) for epoch in range(1, 6) for i in range(count)]
        assert draws == [same.sampled_slice(i, epoch) for epoch in range(1, 6) for i in range(count)]
        lesion = {i for i in range(count) if ds.slice_info(i).lesion_pixels > 0}
        share = sum(d in lesion for d in draws) / len(draws)
        assert share > len(lesion) / count
        image, mask = ds.get_item(3, epoch=2)
        np.testing.assert_array_equal(np.asarray(mask), np.asarray(same.get_item(3, epoch=2)[1]))


def test_augmented_items_depend_on_seed_epoch_and_index(dataset_root):
    root, _ = dataset_root
    with BrainSegDataset(root, augmentation=(0.05, 15, 0.5), seed=9) as ds:
        a = np.asarray(ds.get_item(0, 1)[0])
        assert np.array_equal(a, np.asarray(ds.get_item(0, 1)[0]))
        assert not np.array_equal(a, np.asarray(ds.get_item(0, 2)[0]))
    assert unetseg.POST_AUGMENTATION == (0.05, 15.0, 0.5)


def test_dataset_errors(dataset_root, tmp_path):
    root, count = dataset_root
    with BrainSegDataset(root) as ds:
        with pytest.raises(unetseg.InvalidArgument, match=str(count)):
            ds[count]
        with pytest.raises(TypeError, match="integers"):
            ds["0"]
        with pytest.raises(unetseg.InvalidArgument):
            ds.get_item(0, epoch=-1)
    with pytest.raises(unetseg.FileError, match="missing"):
        BrainSegDataset(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(unetseg.InvalidArgument, match="empty"):
        BrainSegDataset(tmp_path / "empty")
    broken = tmp_path / "broken"
    shutil.copytree(root, broken)
    victim = sorted(broken.glob("*/*_mask.tif"))[0]
    victim.unlink()
    with pytest.raises(unetseg.FileFormatError, match=victim.name.replace("_mask", "")):
        BrainSegDataset(broken)
    with pytest.raises(unetseg.InvalidArgument, match="scale|angle|flip"):
        BrainSegDataset(root, augmentation=(2.0, 15, 0.5))
    ds = BrainSegDataset(root)
    ds.close()
    with pytest.raises(unetseg.InvalidArgument, match="this BrainSegDataset was closed"):
        len(ds)


# ---- augmentation ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pair(dataset_root):
    root, count = dataset_root
    with BrainSegDataset(root) as ds:
        lesion = next(i for i in range(count) if ds.slice_info(i).lesion_pixels > 0)
        image, mask = ds[lesion]
        return np.asarray(image), np.asarray(mask)


def test_fixed_augmentations(pair):
    image, mask = pair
    flipped = unetseg.hflip(image, mask)
    np.testing.assert_array_equal(np.asarray(flipped[0]), image[..., ::-1])
    np.testing.assert_array_equal(np.asarray(flipped[1]), mask[..., ::-1])
    same = unetseg.resize(image, mask, 1.0)
    np.testing.assert_allclose(np.asarray(same[0]), image, atol=1e-6)
    np.testing.assert_array_equal(np.asarray(same[1]), mask)
    turned = unetseg.rotate(image, mask, 0.0)
    np.testing.assert_allclose(np.asarray(turned[0]), image, atol=1e-6)
    bigger = unetseg.resize(image, mask, 1.5)
    assert bigger[0].shape == image.shape and np.asarray(bigger[1]).sum() > mask.sum()
    quarter = np.asarray(unetseg.rotate(image, mask, 90.0)[1])
    assert set(np.unique(quarter)) <= {0.0, 1.0} and abs(quarter.sum() - mask.sum()) <= 0.1 * mask.sum() + 4


def test_random_augmentations_and_the_dataset_methods(pair, dataset_root):
    image, mask = pair
    np.testing.assert_array_equal(np.asarray(unetseg.random_flip(image, mask, 1.0)[0]), image[..., ::-1])
    np.testing.assert_array_equal(np.asarray(unetseg.random_flip(image, mask, 0.0)[0]), image)
    unetseg.manual_seed(1)
    first = np.asarray(unetseg.random_rotate(image, mask, 90)[0])
    unetseg.manual_seed(1)
    assert np.array_equal(first, np.asarray(unetseg.random_rotate(image, mask, 90)[0]))
    assert unetseg.random_resize(image, mask, 0.2)[0].shape == image.shape
    root, _ = dataset_root
    with BrainSegDataset(root) as ds:
        a, m = ds.resize(image, mask, 0.2)
        a, m = ds.flip(a, m, 0.5)
        a, m = ds.rotate(a, m, 90)
        assert a.shape == image.shape and m.shape == mask.shape


def test_augmentation_errors(pair):
    image, mask = pair
    with pytest.raises(unetseg.InvalidArgument):
        unetseg.random_resize(image, mask, 1.5)
    with pytest.raises(unetseg.InvalidArgument):
        unetseg.random_flip(image, mask, 2.0)
    with pytest.raises(unetseg.InvalidArgument):
        unetseg.rotate(image, mask, math.inf)
    with pytest.raises(unetseg.InvalidArgument):
        unetseg.hflip(image, mask[:, :16])


# ---- loader ----------------------------------------------------------------------------------------------


def all_batches(loader):
    return [images_of(b) for b in loader]


def test_loader_batches_and_epochs(dataset_root):
    root, count = dataset_root
    with BrainSegDataset(root) as ds, DataLoader(ds, batch_size=4) as dl:
        assert len(dl) == math.ceil(count / 4) and dl.epoch == 1
        first = all_batches(dl)
        assert len(first) == len(dl) and sum(len(b[0]) for b in first) == count
        assert first[0][0].shape == (4, 3, 32, 32) and first[0][1].shape == (4, 1, 32, 32)
        np.testing.assert_array_equal(first[0][0][1], np.asarray(ds[1][0]))
        assert dl.epoch == 2 and len(all_batches(dl)) == len(dl) and dl.epoch == 3
        for _ in dl:
            break  # leaving early moves on to the next epoch
        assert dl.epoch == 4
        dl.reset(1)
        again = all_batches(dl)
        assert all(np.array_equal(a[0], b[0]) for a, b in zip(first, again))
        assert repr(dl).startswith(f"DataLoader({len(dl)} batches")


def test_loader_workers_shuffle_and_drop_last(dataset_root):
    root, count = dataset_root
    with BrainSegDataset(root, augmentation=(0.05, 15, 0.5), random_sampling=True) as ds:
        with DataLoader(ds, batch_size=3, workers=0) as serial, DataLoader(ds, batch_size=3, workers=2) as threaded:
            a, b = all_batches(serial), all_batches(threaded)
            assert all(np.array_equal(x[0], y[0]) and np.array_equal(x[1], y[1]) for x, y in zip(a, b))
        with DataLoader(ds, batch_size=5, drop_last=True) as dl:
            assert len(dl) == count // 5 and all(len(b[0]) == 5 for b in all_batches(dl))
    with BrainSegDataset(root) as ds, DataLoader(ds, batch_size=count, shuffle=True, seed=1) as dl:
        shuffled = all_batches(dl)[0][0]
        ordered = np.stack([np.asarray(ds[i][0]) for i in range(count)])
        assert not np.array_equal(shuffled, ordered)
        assert np.allclose(np.sort(shuffled.reshape(count, -1).sum(1)), np.sort(ordered.reshape(count, -1).sum(1)))


def test_loader_errors_and_lifetime(dataset_root):
    root, count = dataset_root
    ds = BrainSegDataset(root)
    with pytest.raises(unetseg.InvalidArgument, match="batch"):
        DataLoader(ds, batch_size=0)
    with pytest.raises(unetseg.InvalidArgument, match="workers"):
        DataLoader(ds, workers=1000)
    dl = DataLoader(ds, batch_size=count)
    ds.close()  # the loader keeps the dataset alive inside the library
    assert sum(len(b[0]) for b in dl) == count
    with pytest.raises(unetseg.InvalidArgument):
        dl.reset(-1)
    dl.close()
    with pytest.raises(unetseg.InvalidArgument, match="this DataLoader was closed"):
        len(dl)
