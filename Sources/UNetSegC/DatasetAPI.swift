import CUNetSegTypes
import UNetData
import UNetTensor
import _UNetSupport

// Datasets: the slices of a kaggle_3m-style folder as (image, mask) items, in order or drawn by lesion
// weight, augmented or not (the post's brainseg_dataset).

/// The `unetseg_dataset **` out-parameter of unetseg_dataset_open.
public typealias DatasetOut = UnsafeMutablePointer<UnsafeMutablePointer<unetseg_dataset>?>

extension unetseg_augmentation_params {
    /// The post's values `c(0.05, 15, 0.5)`, enabled or not.
    init(postsValuesEnabled enabled: Bool) {
        let post = AugmentationParameters()
        self.init(enabled: enabled, scale: post.scale, angle: post.angle, flip: post.flip)
    }

    /// The augmentation these parameters describe (nil when disabled), validated.
    func validated() throws(UnetsegError) -> AugmentationParameters? {
        guard enabled else { return nil }
        let parameters = AugmentationParameters(scale: scale, angle: angle, flip: flip)
        try parameters.validate()
        return parameters
    }
}

extension unetseg_dataset_params {
    /// The dataset of the slices under `folder` with these parameters (validated): the work of
    /// unetseg_dataset_open.
    func openDataset(at folder: String) throws(UnetsegError) -> BrainSegDataset {
        try BrainSegDataset(root: folder, augmentation: try augmentation.validated(), randomSampling: random_sampling, seed: seed,
                            normalization: try IntensityNormalization(code: normalization, "params->normalization"))
    }
}

/// A plain dataset, as the post's validation set: augmentation disabled (with the post's values 0.05, 15,
/// 0.5 ready to enable), random_sampling false, seed 777, normalization 0 (min-max per slice). For the
/// post's training set set augmentation.enabled and random_sampling to true.
@c public func unetseg_dataset_default_params() -> unetseg_dataset_params {
    unetseg_dataset_params(augmentation: unetseg_augmentation_params(postsValuesEnabled: false),
                           random_sampling: false, seed: 777, normalization: IntensityNormalization.minmax.code)
}

/// Opens the slices under root (searched recursively; kaggle_3m layout: PATIENT_N.tif with its mask
/// PATIENT_N_mask.tif, paired by name; other files are ignored), ordered by patient and slice number.
/// Reads every mask once, for the lesion weights; images are read when an item is asked for.
///
/// Returns UNETSEG_STATUS_OK and a new handle in *out_dataset (free it with unetseg_dataset_free);
/// UNETSEG_STATUS_INVALID_ARGUMENT for a NULL, an augmentation value out of range, a normalization other
/// than 0, 1 or 2, or a folder without slices; UNETSEG_STATUS_IO for a folder that does not exist; UNETSEG_STATUS_FORMAT for an image without
/// its mask (or the reverse), an unreadable mask or masks of different sizes (the message names the file).
@c public func unetseg_dataset_open(_ root: UnsafePointer<CChar>?, _ params: UnsafePointer<unetseg_dataset_params>?,
                                    _ out_dataset: DatasetOut?) -> Int32 {
    returningHandle(out_dataset, "out_dataset", function: #function) { () throws(UnetsegError) in
        let folder = try pathArgument(root, "root")
        return try nonNull(params, "params").pointee.openDataset(at: folder)
    }
}

/// Frees a dataset handle. NULL is accepted and ignored; a handle that is not live is ignored with a
/// warning. Loaders over the dataset and tensors it made stay valid.
@c public func unetseg_dataset_free(_ dataset: UnsafeMutablePointer<unetseg_dataset>?) {
    Handles.release(UnsafeRawPointer(dataset), BrainSegDataset.self, #function)
}

/// Writes the number of items (slices) into *out_length: the post's length(ds).
///
/// Returns UNETSEG_STATUS_OK, or UNETSEG_STATUS_INVALID_ARGUMENT for a NULL or a dead handle.
@c public func unetseg_dataset_length(_ dataset: UnsafePointer<unetseg_dataset>?, _ out_length: UnsafeMutablePointer<Int64>?) -> Int32 {
    withStatus { () throws(UnetsegError) in
        let d = try Handles.dataset(dataset)
        try nonNull(out_length, "out_length").pointee = Int64(d.count)
    }
}

/// Writes the height and width of every slice (all have the same) into *out_height and *out_width.
///
/// Returns UNETSEG_STATUS_OK, or UNETSEG_STATUS_INVALID_ARGUMENT for a NULL or a dead handle.
@c public func unetseg_dataset_image_size(_ dataset: UnsafePointer<unetseg_dataset>?, _ out_height: UnsafeMutablePointer<Int64>?,
                                          _ out_width: UnsafeMutablePointer<Int64>?) -> Int32 {
    withStatus { () throws(UnetsegError) in
        let d = try Handles.dataset(dataset)
        let height = try nonNull(out_height, "out_height"), width = try nonNull(out_width, "out_width")
        height.pointee = Int64(d.height)
        width.pointee = Int64(d.width)
    }
}

/// Item index (0-based) of epoch: the image [3, H, W] (each image min-max scaled to [0, 1], or normalised
/// per patient volume as params.normalization said; the first item of a patient then reads all its
/// slices) and the mask
/// [1, H, W] (0 or 1) of slice index, or with random_sampling of a slice drawn by lesion weight, augmented
/// when the dataset augments. The same (dataset seed, epoch, index) always gives the same item.
///
/// Returns UNETSEG_STATUS_OK and new handles in *out_image and *out_mask (free both with
/// unetseg_tensor_free); UNETSEG_STATUS_INVALID_ARGUMENT for a NULL, a dead handle, an index outside
/// 0..length-1 or a negative epoch; UNETSEG_STATUS_IO or UNETSEG_STATUS_FORMAT for a slice file that
/// cannot be read (named). Both outputs are NULL on failure.
@c public func unetseg_dataset_get_item(_ dataset: UnsafePointer<unetseg_dataset>?, _ index: Int64, _ epoch: Int64,
                                        _ out_image: TensorOut?, _ out_mask: TensorOut?) -> Int32 {
    returningTensorPair(out_image, "out_image", out_mask, "out_mask", function: #function) { () throws(UnetsegError) in
        let d = try Handles.dataset(dataset)
        let item = try d.item(try indexArgument(index, count: d.count), epoch: try epochArgument(epoch))
        return (item.image, item.mask)
    }
}

/// Writes into *out_slice the slice that item index of epoch shows: index itself, or with random_sampling
/// the slice drawn by lesion weight (pass it to unetseg_dataset_slice_info).
///
/// Returns UNETSEG_STATUS_OK, or UNETSEG_STATUS_INVALID_ARGUMENT for a NULL, a dead handle, an index out
/// of range or a negative epoch.
@c public func unetseg_dataset_sampled_slice(_ dataset: UnsafePointer<unetseg_dataset>?, _ index: Int64, _ epoch: Int64,
                                             _ out_slice: UnsafeMutablePointer<Int64>?) -> Int32 {
    withStatus { () throws(UnetsegError) in
        let d = try Handles.dataset(dataset)
        let i = try indexArgument(index, count: d.count), e = try epochArgument(epoch)
        try nonNull(out_slice, "out_slice").pointee = Int64(d.sliceIndex(for: i, epoch: e))
    }
}

/// Describes slice (0-based, in the dataset's order by patient and slice number): its patient id (the
/// folder name, e.g. "TCGA_CS_4941_19960909") with a NUL into out_patient, which holds capacity bytes; its
/// 1-based slice number in *out_number; the lesion pixels of its mask in *out_lesion_pixels. Any of the
/// three outputs may be NULL when not wanted.
///
/// Returns UNETSEG_STATUS_OK, or UNETSEG_STATUS_INVALID_ARGUMENT for a NULL dataset, a dead handle, a
/// slice out of range or out_patient too small (the message says how many bytes are needed; 64 suffice
/// for the Kaggle names). Nothing is written on failure.
@c public func unetseg_dataset_slice_info(_ dataset: UnsafePointer<unetseg_dataset>?, _ slice: Int64,
                                          _ out_patient: UnsafeMutablePointer<CChar>?, _ capacity: UInt,
                                          _ out_number: UnsafeMutablePointer<Int32>?,
                                          _ out_lesion_pixels: UnsafeMutablePointer<Int64>?) -> Int32 {
    withStatus { () throws(UnetsegError) in
        let d = try Handles.dataset(dataset)
        let s = d.slices[try indexArgument(slice, count: d.count, "slice")]
        if out_patient != nil { try copyOut(s.patient, to: out_patient, capacity: capacity, "out_patient") }
        out_number?.pointee = Int32(clamping: s.number)
        out_lesion_pixels?.pointee = Int64(s.lesionPixels)
    }
}
