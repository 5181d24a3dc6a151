import CUNetSegTypes
import UNetData
import UNetTensor

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
/// is 1, and *seed for all its randomness, as unetseg_dataset_open. New handle in *out_dataset.
@c public func unetseg_r_dataset_open(_ root: RString?, _ augmentation: UnsafePointer<Double>?, _ augment: UnsafePointer<Int32>?,
                                      _ random_sampling: UnsafePointer<Int32>?, _ seed: UnsafePointer<Double>?,
                                      _ out_dataset: UnsafeMutablePointer<Int32>?, _ message: RString?,
                                      _ status: UnsafeMutablePointer<Int32>?) {
    rCall(message, status) { () throws(UnetsegError) in
        let a = try required(augmentation, "augmentation")
        var params = unetseg_dataset_params(
            augmentation: unetseg_augmentation_params(enabled: try rBool(augment, "augment"), scale: Float(a[0]),
                                                      angle: Float(a[1]), flip: Float(a[2])),
            random_sampling: try rBool(random_sampling, "random_sampling"), seed: try rSeed(seed))
        var dataset: UnsafeMutablePointer<unetseg_dataset>?
        try rethrowing(unetseg_dataset_open(UnsafePointer(try required(root, "root").pointee), &params, &dataset))
        try rAdopt(dataset, BrainSegDataset.self, to: out_dataset, "out_dataset")
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
        try required(out_length, "out_length").pointee = Double(try rObject(dataset, BrainSegDataset.self, "dataset").count)
    }
}

/// R (.C): writes the slices' (height, width) into out_size.
@c public func unetseg_r_dataset_image_size(_ dataset: UnsafePointer<Int32>?, _ out_size: UnsafeMutablePointer<Int32>?,
                                            _ message: RString?, _ status: UnsafeMutablePointer<Int32>?) {
    rCall(message, status) { () throws(UnetsegError) in
        let d = try rObject(dataset, BrainSegDataset.self, "dataset")
        let out = try required(out_size, "out_size")
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
        let i = try rDouble(index, "index"), e = try rCount(epoch, "epoch")
        try require(i >= 0 && i < Double(d.count) && i.rounded() == i,
                    "index \(rNumber(i + 1)) is out of range for a dataset of \(d.count) slices (R counts from 1)")
        let item = try d.item(Int(i), epoch: e)
        try rReturnPair(item.image, item.mask, out_image, out_mask)
    }
}

/// Stores new handles to `first` and `second` in `*out_first` and `*out_second` (both 0 unless both succeed).
func rReturnPair(_ first: Tensor, _ second: Tensor, _ out_first: UnsafeMutablePointer<Int32>?,
                 _ out_second: UnsafeMutablePointer<Int32>?) throws(UnetsegError) {
    let a = try required(out_first, "out_first"), b = try required(out_second, "out_second")
    (a.pointee, b.pointee) = (0, 0)
    let firstHandle = try rRegister(first)
    do throws(UnetsegError) {
        b.pointee = try rRegister(second)
    } catch {
        rRelease([firstHandle], Tensor.self, function: #function)
        throw error
    }
    a.pointee = firstHandle
}

// MARK: - Augmentation (the post's ds$resize, ds$rotate, ds$flip)

/// Runs the pointer API's random augmentation `transform` (unetseg_augmentation_random_*, which draws from
/// the global generator) on the image and mask behind the R handles, returning new R handles.
func rAugment(_ image: UnsafePointer<Int32>?, _ mask: UnsafePointer<Int32>?, _ parameter: UnsafePointer<Double>?, _ name: String,
              _ out_image: UnsafeMutablePointer<Int32>?, _ out_mask: UnsafeMutablePointer<Int32>?,
              _ transform: (UnsafePointer<unetseg_tensor>?, UnsafePointer<unetseg_tensor>?, Float, TensorOut?, TensorOut?) -> Int32)
    throws(UnetsegError) {
    _ = try rTensor(image, "image")
    _ = try rTensor(mask, "mask")
    let value = try rFloat(parameter, name)
    var newImage: UnsafeMutablePointer<unetseg_tensor>?, newMask: UnsafeMutablePointer<unetseg_tensor>?
    try rethrowing(transform(UnsafePointer(rPointer(image)), UnsafePointer(rPointer(mask)), value, &newImage, &newMask))
    do throws(UnetsegError) {
        try rAdopt(newImage, Tensor.self, to: out_image, "out_image")
    } catch {
        Handles.release(UnsafeRawPointer(newMask), Tensor.self, #function)
        throw error
    }
    do throws(UnetsegError) {
        try rAdopt(newMask, Tensor.self, to: out_mask, "out_mask")
    } catch {
        rRelease(out_image, Tensor.self, function: #function)
        out_image?.pointee = 0
        throw error
    }
}

/// R (.C): resizes image [C, H, W] and mask [M, H, W] by a factor drawn from U(1 - *scale, 1 + *scale) with
/// the global generator, then crops or pads back (ds$resize), as unetseg_augmentation_random_resize. New
/// handles in *out_image and *out_mask.
@c public func unetseg_r_augment_resize(_ image: UnsafePointer<Int32>?, _ mask: UnsafePointer<Int32>?, _ scale: UnsafePointer<Double>?,
                                        _ out_image: UnsafeMutablePointer<Int32>?, _ out_mask: UnsafeMutablePointer<Int32>?,
                                        _ message: RString?, _ status: UnsafeMutablePointer<Int32>?) {
    rCall(message, status) { () throws(UnetsegError) in
        try rAugment(image, mask, scale, "scale", out_image, out_mask, unetseg_augmentation_random_resize)
    }
}

/// R (.C): rotates image and mask by an angle drawn from U(-*angle, *angle) degrees with the global
/// generator (ds$rotate), as unetseg_augmentation_random_rotate. New handles in *out_image and *out_mask.
@c public func unetseg_r_augment_rotate(_ image: UnsafePointer<Int32>?, _ mask: UnsafePointer<Int32>?, _ angle: UnsafePointer<Double>?,
                                        _ out_image: UnsafeMutablePointer<Int32>?, _ out_mask: UnsafeMutablePointer<Int32>?,
                                        _ message: RString?, _ status: UnsafeMutablePointer<Int32>?) {
    rCall(message, status) { () throws(UnetsegError) in
        try rAugment(image, mask, angle, "angle", out_image, out_mask, unetseg_augmentation_random_rotate)
    }
}

/// R (.C): mirrors image and mask left to right with probability *probability, drawn with the global
/// generator (ds$flip), as unetseg_augmentation_random_flip. New handles in *out_image and *out_mask.
@c public func unetseg_r_augment_flip(_ image: UnsafePointer<Int32>?, _ mask: UnsafePointer<Int32>?, _ probability: UnsafePointer<Double>?,
                                      _ out_image: UnsafeMutablePointer<Int32>?, _ out_mask: UnsafeMutablePointer<Int32>?,
                                      _ message: RString?, _ status: UnsafeMutablePointer<Int32>?) {
    rCall(message, status) { () throws(UnetsegError) in
        try rAugment(image, mask, probability, "probability", out_image, out_mask, unetseg_augmentation_random_flip)
    }
}

// MARK: - Loader

/// R (.C): a loader over *dataset with settings = (batch_size, shuffle, drop_last, workers) and *seed for
/// the shuffles, as unetseg_loader_create. New handle in *out_loader.
@c public func unetseg_r_loader_create(_ dataset: UnsafePointer<Int32>?, _ settings: UnsafePointer<Int32>?,
                                       _ seed: UnsafePointer<Double>?, _ out_loader: UnsafeMutablePointer<Int32>?,
                                       _ message: RString?, _ status: UnsafeMutablePointer<Int32>?) {
    rCall(message, status) { () throws(UnetsegError) in
        _ = try rObject(dataset, BrainSegDataset.self, "dataset")
        let s = try required(settings, "settings")
        var params = unetseg_loader_params(batch_size: s[0], shuffle: s[1] != 0, drop_last: s[2] != 0, workers: s[3],
                                           seed: try rSeed(seed))
        var loader: UnsafeMutablePointer<unetseg_loader>?
        try rethrowing(unetseg_loader_create(rPointer(dataset), &params, &loader))
        try rAdopt(loader, LoaderHandle.self, to: out_loader, "out_loader")
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
        try required(out_length, "out_length").pointee = Double(try rObject(loader, LoaderHandle.self, "loader").loader.batchCount)
    }
}

/// R (.C): writes the loader's batch size into *out_size.
@c public func unetseg_r_loader_batch_size(_ loader: UnsafePointer<Int32>?, _ out_size: UnsafeMutablePointer<Int32>?,
                                           _ message: RString?, _ status: UnsafeMutablePointer<Int32>?) {
    rCall(message, status) { () throws(UnetsegError) in
        try required(out_size, "out_size").pointee = Int32(clamping: try rObject(loader, LoaderHandle.self, "loader").loader.batchSize)
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
        let has = try required(out_has_batch, "out_has_batch")
        has.pointee = 0
        try required(out_images, "out_images").pointee = 0
        try required(out_masks, "out_masks").pointee = 0
        guard let batch = try it.next() else { return }
        try rReturnPair(batch.images, batch.masks, out_images, out_masks)
        has.pointee = 1
    }
}
