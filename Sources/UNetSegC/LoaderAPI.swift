import CUNetSegTypes
import UNetData
import UNetTensor
import _UNetSupport

// Data loaders: the items of a dataset in batches, epoch after epoch (the post's dataloader).

/// The `unetseg_loader **` out-parameter of unetseg_loader_create.
public typealias LoaderOut = UnsafeMutablePointer<UnsafeMutablePointer<unetseg_loader>?>

extension unetseg_loader_params {
    /// A loader over `source` with these parameters (validated): the work of unetseg_loader_create.
    func makeLoader(over source: BrainSegDataset) throws(UnetsegError) -> LoaderHandle {
        try checkArgument(batch_size >= 1 && batch_size <= 4096, "batch_size must be in 1...4096, got \(batch_size)")
        try checkArgument(workers >= 0 && Int(workers) <= DataLoader.maximumWorkers,
                    "workers must be in 0...\(DataLoader.maximumWorkers), got \(workers)")
        return LoaderHandle(try DataLoader(source: source, batchSize: Int(batch_size), shuffle: shuffle,
                                           dropLast: drop_last, workers: Int(workers), seed: seed))
    }
}

/// The post's dataloader(ds, batch_size = 4): batches of 4 in order, the last one smaller, made on the
/// calling thread (workers 0), seed 777 for shuffles.
@c public func unetseg_loader_default_params() -> unetseg_loader_params {
    unetseg_loader_params(batch_size: 4, shuffle: false, drop_last: false, workers: 0, seed: 777)
}

/// Makes a loader over dataset, positioned at the start of epoch 1. It keeps the dataset alive: the
/// dataset handle may be freed first.
///
/// Returns UNETSEG_STATUS_OK and a new handle in *out_loader (free it with unetseg_loader_free);
/// UNETSEG_STATUS_INVALID_ARGUMENT for a NULL, a dead handle or a field out of range;
/// UNETSEG_STATUS_OUT_OF_MEMORY when the batches it would hold at once (batch_size items, 4 x workers + 1
/// batches with workers) exceed the memory limit (the message gives the estimate and the limit; see
/// UNETSEG_MEMORY_LIMIT in the README).
@c public func unetseg_loader_create(_ dataset: UnsafeMutablePointer<unetseg_dataset>?, _ params: UnsafePointer<unetseg_loader_params>?,
                                     _ out_loader: LoaderOut?) -> Int32 {
    returningHandle(out_loader, "out_loader", function: #function) { () throws(UnetsegError) in
        let source = try Handles.dataset(dataset)
        return try nonNull(params, "params").pointee.makeLoader(over: source)
    }
}

/// Frees a loader handle, stopping its background threads. NULL is accepted and ignored; a handle that is
/// not live is ignored with a warning. Batches it returned stay valid.
@c public func unetseg_loader_free(_ loader: UnsafeMutablePointer<unetseg_loader>?) {
    Handles.release(UnsafeRawPointer(loader), LoaderHandle.self, #function)
}

/// Writes the number of batches per epoch into *out_length: ceil(items / batch_size), or floor with
/// drop_last.
///
/// Returns UNETSEG_STATUS_OK, or UNETSEG_STATUS_INVALID_ARGUMENT for a NULL or a dead handle.
@c public func unetseg_loader_length(_ loader: UnsafePointer<unetseg_loader>?, _ out_length: UnsafeMutablePointer<Int64>?) -> Int32 {
    withStatus { () throws(UnetsegError) in
        let handle = try Handles.loader(loader)
        try nonNull(out_length, "out_length").pointee = Int64(handle.loader.batchCount)
    }
}

/// The next batch of the current epoch: images [B, 3, H, W] and masks [B, 1, H, W] (B = batch_size, or
/// fewer in the last batch). After the epoch's last batch it returns UNETSEG_STATUS_OK with *out_images
/// and *out_masks NULL, which marks the end of the epoch; the call after that starts the next epoch. So
/// "while next gives a batch" loops over one epoch, as the post's coro::loop(for (b in dl)).
///
/// Returns UNETSEG_STATUS_OK with two new handles (free both with unetseg_tensor_free) or, at the end of
/// the epoch, two NULLs; UNETSEG_STATUS_INVALID_ARGUMENT for a NULL or a dead handle; the error of an item
/// that cannot be read (UNETSEG_STATUS_IO, UNETSEG_STATUS_FORMAT, naming the file), which ends the epoch:
/// the call after it reports the end. Both outputs are NULL on failure.
@c public func unetseg_loader_next(_ loader: UnsafeMutablePointer<unetseg_loader>?, _ out_images: TensorOut?,
                                   _ out_masks: TensorOut?) -> Int32 {
    returningTensorPair(out_images, "out_images", out_masks, "out_masks", function: #function) { () throws(UnetsegError) in
        let handle = try Handles.loader(loader)
        let iterator = handle.iterator ?? handle.loader.makeIterator(epoch: handle.epoch)
        handle.iterator = iterator
        if let batch = try iterator.next() { return (batch.images, batch.masks) }
        handle.iterator = nil
        handle.epoch += 1
        return nil
    }
}

/// Starts epoch again from its first batch (stopping a partly read epoch): the next unetseg_loader_next
/// returns its first batch. With shuffle, augmentation or random sampling, epoch e gives the same batches
/// every time it is read.
///
/// Returns UNETSEG_STATUS_OK, or UNETSEG_STATUS_INVALID_ARGUMENT for a NULL, a dead handle or a negative
/// epoch.
@c public func unetseg_loader_reset(_ loader: UnsafeMutablePointer<unetseg_loader>?, _ epoch: Int64) -> Int32 {
    withStatus { () throws(UnetsegError) in
        let handle = try Handles.loader(loader)
        let e = try epochArgument(epoch)
        handle.iterator = nil
        handle.epoch = e
    }
}

/// Writes the epoch that unetseg_loader_next reads into *out_epoch (1 for a new loader).
///
/// Returns UNETSEG_STATUS_OK, or UNETSEG_STATUS_INVALID_ARGUMENT for a NULL or a dead handle.
@c public func unetseg_loader_epoch(_ loader: UnsafePointer<unetseg_loader>?, _ out_epoch: UnsafeMutablePointer<Int64>?) -> Int32 {
    withStatus { () throws(UnetsegError) in
        let handle = try Handles.loader(loader)
        try nonNull(out_epoch, "out_epoch").pointee = Int64(handle.epoch)
    }
}
