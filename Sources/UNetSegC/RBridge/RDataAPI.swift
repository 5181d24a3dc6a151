import CUNetSegTypes
import UNetData
import UNetTensor
import _UNetSupport

// R (.C): the post's dataset, its augmentations, loaders and their iterators, the patient split and the
// synthetic data set.

/// Tag type of the R-only handles (they have no C type: the pointer API never sees them).
enum RHandleTag {}

/// One pass of R over an epoch of a loader: the loader's iterator (its background threads, if any, stop
/// when the handle is freed).
final class RIteratorHandle: HandleTarget, @unchecked Sendable {
    typealias CType = RHandleTag
    static var cTypeName: String { "iterator" }
    /// The iterator.
    let iterator: DataLoader.Iterator
    init(_ iterator: DataLoader.Iterator) { self.iterator = iterator }
}

// MARK: - Dataset

/// R (.C): opens the slices under *root (kaggle_3m layout) as the post's brainseg_dataset, with
/// augmentation = (scale, angle, flip) when *augment is 1, lesion-weighted sampling when *random_sampling
/// is 1, *seed for all its randomness and *normalization (unetseg_dataset_params.normalization: 0
/// minmax, 1 zscore, 2 percentile), as unetseg_dataset_open. New handle in *out_dataset.
@c public func unetseg_r_dataset_open(_ root: RString?, _ augmentation: UnsafePointer<Double>?, _ augment: UnsafePointer<Int32>?,
                                      _ random_sampling: UnsafePointer<Int32>?, _ seed: UnsafePointer<Double>?,
                                      _ normalization: UnsafePointer<Int32>?, _ out_dataset: UnsafeMutablePointer<Int32>?, _ message: RString?,
                                      _ status: UnsafeMutablePointer<Int32>?) {
    rCall(message, status) { () throws(UnetsegError) in
        let a = try nonNull(augmentation, "augmentation")
        let params = unetseg_dataset_params(
            augmentation: unetseg_augmentation_params(enabled: try rBool(augment, "augment"), scale: Float(a[0]),
                                                      angle: Float(a[1]), flip: Float(a[2])),
            random_sampling: try rBool(random_sampling, "random_sampling"), seed: try rSeed(seed),
            normalization: try nonNull(normalization, "normalization").pointee)
        let folder = try rPath(root, "root")
        try rReturn(try params.openDataset(at: folder), to: out_dataset, "out_dataset")
    }
}

/// R (.C): frees dataset handle *dataset (0 and dead handles are ignored).
@c public func unetseg_r_dataset_free(_ dataset: UnsafePointer<Int32>?, _ message: RString?, _ status: UnsafeMutablePointer<Int32>?) {
    rCall(message, status) { () throws(UnetsegError) in rRelease(dataset, BrainSegDataset.self, function: #function) }
}

/// R (.C): writes the number of slices into *out_length (length(ds)).
@c public func unetseg_r_dataset_length(_ dataset: UnsafePointer<Int32>?, _ out_length: UnsafeMutablePointer<Double>?,
                                        _ message: RString?, _ status: UnsafeMutablePointer<Int32>?) {
    rCall(message, status) { () throws(UnetsegError) in
        try nonNull(out_length, "out_length").pointee = Double(try rObject(dataset, BrainSegDataset.self, "dataset").count)
    }
}

/// R (.C): writes the slices' (height, width) into out_size.
@c public func unetseg_r_dataset_image_size(_ dataset: UnsafePointer<Int32>?, _ out_size: UnsafeMutablePointer<Int32>?,
                                            _ message: RString?, _ status: UnsafeMutablePointer<Int32>?) {
    rCall(message, status) { () throws(UnetsegError) in
        let d = try rObject(dataset, BrainSegDataset.self, "dataset")
        let out = try nonNull(out_size, "out_size")
        (out[0], out[1]) = (Int32(clamping: d.height), Int32(clamping: d.width))
    }
}

/// R (.C): item *index (0-based) of epoch *epoch: new handles to the image [3, H, W] in *out_image and the
/// mask [1, H, W] in *out_mask (ds[i] reads epoch 0).
@c public func unetseg_r_dataset_get_item(_ dataset: UnsafePointer<Int32>?, _ index: UnsafePointer<Double>?,
                                          _ epoch: UnsafePointer<Double>?, _ out_image: UnsafeMutablePointer<Int32>?,
                                          _ out_mask: UnsafeMutablePointer<Int32>?, _ message: RString?,
                                          _ status: UnsafeMutablePointer<Int32>?) {
    rCall(message, status) { () throws(UnetsegError) in
        let d = try rObject(dataset, BrainSegDataset.self, "dataset")
        let i = try doubleFromR(index, "index"), e = try rCount(epoch, "epoch")
        try checkArgument(i >= 0 && i < Double(d.count) && i.rounded() == i,
                    "index \(rNumber(i + 1)) is out of range for a dataset of \(d.count) slices (R counts from 1)")
        let item = try d.item(Int(i), epoch: e)
        try rReturnPair(item.image, item.mask, to: out_image, "out_image", out_mask, "out_mask")
    }
}

// MARK: - Augmentation (the post's ds$resize, ds$rotate, ds$flip)

/// Runs the random augmentation `transform` (one of `RandomAugmentation`'s, which draw from the global
/// generator) with R's `*parameter` (the caller's `name`) on the image and mask behind the R handles,
/// returning new R handles.
func rAugment(_ image: UnsafePointer<Int32>?, _ mask: UnsafePointer<Int32>?, _ parameter: UnsafePointer<Double>?, _ name: String,
              _ out_image: UnsafeMutablePointer<Int32>?, _ out_mask: UnsafeMutablePointer<Int32>?,
              _ transform: (Tensor, Tensor, Float) throws(UnetsegError) -> (image: Tensor, mask: Tensor)) throws(UnetsegError) {
    let (i, m) = (try rTensor(image, "image"), try rTensor(mask, "mask"))
    let result = try transform(i, m, try rFloat(parameter, name))
    try rReturnPair(result.image, result.mask, to: out_image, "out_image", out_mask, "out_mask")
}

/// R (.C): resizes image [C, H, W] and mask [M, H, W] by a factor drawn from U(1 - *scale, 1 + *scale) with
/// the global generator, then crops or pads back (ds$resize), as unetseg_augmentation_random_resize. New
/// handles in *out_image and *out_mask.
@c public func unetseg_r_augment_resize(_ image: UnsafePointer<Int32>?, _ mask: UnsafePointer<Int32>?, _ scale: UnsafePointer<Double>?,
                                        _ out_image: UnsafeMutablePointer<Int32>?, _ out_mask: UnsafeMutablePointer<Int32>?,
                                        _ message: RString?, _ status: UnsafeMutablePointer<Int32>?) {
    rCall(message, status) { () throws(UnetsegError) in
        try rAugment(image, mask, scale, "scale", out_image, out_mask, RandomAugmentation.resize)
    }
}

/// R (.C): rotates image and mask by an angle drawn from U(-*angle, *angle) degrees with the global
/// generator (ds$rotate), as unetseg_augmentation_random_rotate. New handles in *out_image and *out_mask.
@c public func unetseg_r_augment_rotate(_ image: UnsafePointer<Int32>?, _ mask: UnsafePointer<Int32>?, _ angle: UnsafePointer<Double>?,
                                        _ out_image: UnsafeMutablePointer<Int32>?, _ out_mask: UnsafeMutablePointer<Int32>?,
                                        _ message: RString?, _ status: UnsafeMutablePointer<Int32>?) {
    rCall(message, status) { () throws(UnetsegError) in
        try rAugment(image, mask, angle, "angle", out_image, out_mask, RandomAugmentation.rotate)
    }
}

/// R (.C): mirrors image and mask left to right with probability *probability, drawn with the global
/// generator (ds$flip), as unetseg_augmentation_random_flip. New handles in *out_image and *out_mask.
@c public func unetseg_r_augment_flip(_ image: UnsafePointer<Int32>?, _ mask: UnsafePointer<Int32>?, _ probability: UnsafePointer<Double>?,
                                      _ out_image: UnsafeMutablePointer<Int32>?, _ out_mask: UnsafeMutablePointer<Int32>?,
                                      _ message: RString?, _ status: UnsafeMutablePointer<Int32>?) {
    rCall(message, status) { () throws(UnetsegError) in
        try rAugment(image, mask, probability, "probability", out_image, out_mask, RandomAugmentation.flip)
    }
}

// MARK: - Loader

/// R (.C): a loader over *dataset with settings = (batch_size, shuffle, drop_last, workers) and *seed for
/// the shuffles, as unetseg_loader_create. New handle in *out_loader.
@c public func unetseg_r_loader_create(_ dataset: UnsafePointer<Int32>?, _ settings: UnsafePointer<Int32>?,
                                       _ seed: UnsafePointer<Double>?, _ out_loader: UnsafeMutablePointer<Int32>?,
                                       _ message: RString?, _ status: UnsafeMutablePointer<Int32>?) {
    rCall(message, status) { () throws(UnetsegError) in
        let source = try rObject(dataset, BrainSegDataset.self, "dataset")
        let s = try nonNull(settings, "settings")
        let params = unetseg_loader_params(batch_size: s[0], shuffle: s[1] != 0, drop_last: s[2] != 0, workers: s[3],
                                           seed: try rSeed(seed))
        try rReturn(try params.makeLoader(over: source), to: out_loader, "out_loader")
    }
}

/// R (.C): frees loader handle *loader (0 and dead handles are ignored).
@c public func unetseg_r_loader_free(_ loader: UnsafePointer<Int32>?, _ message: RString?, _ status: UnsafeMutablePointer<Int32>?) {
    rCall(message, status) { () throws(UnetsegError) in rRelease(loader, LoaderHandle.self, function: #function) }
}

/// R (.C): writes the number of batches per epoch into *out_length (length(dl)).
@c public func unetseg_r_loader_length(_ loader: UnsafePointer<Int32>?, _ out_length: UnsafeMutablePointer<Double>?,
                                       _ message: RString?, _ status: UnsafeMutablePointer<Int32>?) {
    rCall(message, status) { () throws(UnetsegError) in
        try nonNull(out_length, "out_length").pointee = Double(try rObject(loader, LoaderHandle.self, "loader").loader.batchCount)
    }
}

/// R (.C): writes the loader's batch size into *out_size.
@c public func unetseg_r_loader_batch_size(_ loader: UnsafePointer<Int32>?, _ out_size: UnsafeMutablePointer<Int32>?,
                                           _ message: RString?, _ status: UnsafeMutablePointer<Int32>?) {
    rCall(message, status) { () throws(UnetsegError) in
        try nonNull(out_size, "out_size").pointee = Int32(clamping: try rObject(loader, LoaderHandle.self, "loader").loader.batchSize)
    }
}

/// R (.C): an iterator over the batches of epoch *epoch of *loader, from batch *starting_batch (0-based).
/// New handle in *out_iterator.
@c public func unetseg_r_loader_iterate(_ loader: UnsafePointer<Int32>?, _ epoch: UnsafePointer<Double>?,
                                        _ starting_batch: UnsafePointer<Double>?, _ out_iterator: UnsafeMutablePointer<Int32>?,
                                        _ message: RString?, _ status: UnsafeMutablePointer<Int32>?) {
    rCall(message, status) { () throws(UnetsegError) in
        let l = try rObject(loader, LoaderHandle.self, "loader").loader
        let iterator = l.makeIterator(epoch: try rCount(epoch, "epoch"), startingBatch: try rCount(starting_batch, "starting_batch"))
        try rReturn(RIteratorHandle(iterator), to: out_iterator, "out_iterator")
    }
}

/// R (.C): frees iterator handle *iterator, stopping its background threads (0 and dead handles are
/// ignored).
@c public func unetseg_r_iterator_free(_ iterator: UnsafePointer<Int32>?, _ message: RString?, _ status: UnsafeMutablePointer<Int32>?) {
    rCall(message, status) { () throws(UnetsegError) in rRelease(iterator, RIteratorHandle.self, function: #function) }
}

/// R (.C): the iterator's next batch: *out_has_batch 1 with new handles to the images [B, 3, H, W] in
/// *out_images and the masks [B, 1, H, W] in *out_masks, or *out_has_batch 0 (and two 0 handles) after the
/// epoch's last batch.
@c public func unetseg_r_iterator_next(_ iterator: UnsafePointer<Int32>?, _ out_images: UnsafeMutablePointer<Int32>?,
                                       _ out_masks: UnsafeMutablePointer<Int32>?, _ out_has_batch: UnsafeMutablePointer<Int32>?,
                                       _ message: RString?, _ status: UnsafeMutablePointer<Int32>?) {
    rCall(message, status) { () throws(UnetsegError) in
        let it = try rObject(iterator, RIteratorHandle.self, "iterator").iterator
        let has = try nonNull(out_has_batch, "out_has_batch")
        has.pointee = 0
        try nonNull(out_images, "out_images").pointee = 0
        try nonNull(out_masks, "out_masks").pointee = 0
        guard let batch = try it.next() else { return }
        try rReturnPair(batch.images, batch.masks, to: out_images, "out_images", out_masks, "out_masks")
        has.pointee = 1
    }
}
