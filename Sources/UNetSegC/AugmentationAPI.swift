import CUNetSegTypes
import UNetData
import UNetTensor
import _UNetSupport

// The post's three augmentations on an image [C, H, W] and its mask [M, H, W], fixed or random. The
// random versions draw from the global generator (unetseg_manual_seed), under its lock.

/// Runs `transform` on the tensors behind `image` and `mask` and returns the two new tensors through
/// `out_image` and `out_mask` (the work of `function`).
func augmenting(_ image: UnsafePointer<unetseg_tensor>?, _ mask: UnsafePointer<unetseg_tensor>?,
                _ out_image: TensorOut?, _ out_mask: TensorOut?, function: String,
                _ transform: (Tensor, Tensor) throws(UnetsegError) -> (image: Tensor, mask: Tensor)) -> Int32 {
    returningTensorPair(out_image, "out_image", out_mask, "out_mask", function: function) { () throws(UnetsegError) in
        let result = try transform(try Handles.tensor(image, "image"), try Handles.tensor(mask, "mask"))
        return (result.image, result.mask)
    }
}

/// Runs `body` with the global generator, which it advances, holding its lock.
func withGlobalGenerator<Result: Sendable>(_ body: (inout RandomGenerator) throws(UnetsegError) -> Result) throws(UnetsegError) -> Result {
    try defaultGenerator.withLock { (generator: inout RandomGenerator) throws(UnetsegError) -> Result in try body(&generator) }
}

/// The post's three random augmentations of an image and its mask, each drawing one number from the global
/// generator: the work of unetseg_augmentation_random_*.
enum RandomAugmentation {
    /// Resized by a factor drawn from U(1 - scale, 1 + scale).
    static func resize(_ image: Tensor, _ mask: Tensor, scale: Float) throws(UnetsegError) -> (image: Tensor, mask: Tensor) {
        try withGlobalGenerator { (g) throws(UnetsegError) in try Augmentation.randomResize(image, mask, scaleParameter: scale, generator: &g) }
    }

    /// Rotated by an angle drawn from U(-angle, angle) degrees.
    static func rotate(_ image: Tensor, _ mask: Tensor, angle: Float) throws(UnetsegError) -> (image: Tensor, mask: Tensor) {
        try withGlobalGenerator { (g) throws(UnetsegError) in try Augmentation.randomRotate(image, mask, angleParameter: angle, generator: &g) }
    }

    /// Mirrored left to right with probability `flip`.
    static func flip(_ image: Tensor, _ mask: Tensor, probability flip: Float) throws(UnetsegError) -> (image: Tensor, mask: Tensor) {
        try withGlobalGenerator { (g) throws(UnetsegError) in try Augmentation.randomFlip(image, mask, probability: flip, generator: &g) }
    }
}

/// Resizes image [C, H, W] and mask [M, H, W] by scale (in (0, 100]), then crops the centre or zero-pads
/// back to H x W: image bilinear, mask nearest (so it stays 0/1), as torch's interpolate. scale 1 is the
/// identity. Not differentiable; the inputs are not changed.
///
/// Returns UNETSEG_STATUS_OK and new handles in *out_image and *out_mask (free both with
/// unetseg_tensor_free), or UNETSEG_STATUS_INVALID_ARGUMENT for a NULL, a dead handle, shapes that are not
/// [C, H, W] and [M, H, W] with the same H and W, or a scale out of range.
@c public func unetseg_augmentation_resize(_ image: UnsafePointer<unetseg_tensor>?, _ mask: UnsafePointer<unetseg_tensor>?,
                                           _ scale: Float, _ out_image: TensorOut?, _ out_mask: TensorOut?) -> Int32 {
    augmenting(image, mask, out_image, out_mask, function: #function) { (i, m) throws(UnetsegError) in
        try Augmentation.resize(i, m, scale: scale)
    }
}

/// Rotates image [C, H, W] and mask [M, H, W] by degrees about the centre, counter-clockwise for positive
/// angles (torchvision's rotate): image bilinear, mask nearest; places with no source become 0. Not
/// differentiable; the inputs are not changed.
///
/// Returns UNETSEG_STATUS_OK and new handles in *out_image and *out_mask (free both with
/// unetseg_tensor_free), or UNETSEG_STATUS_INVALID_ARGUMENT for a NULL, a dead handle, shapes that do not
/// fit or an angle that is not finite.
@c public func unetseg_augmentation_rotate(_ image: UnsafePointer<unetseg_tensor>?, _ mask: UnsafePointer<unetseg_tensor>?,
                                           _ degrees: Float, _ out_image: TensorOut?, _ out_mask: TensorOut?) -> Int32 {
    augmenting(image, mask, out_image, out_mask, function: #function) { (i, m) throws(UnetsegError) in
        try Augmentation.rotate(i, m, degrees: degrees)
    }
}

/// Mirrors image [C, H, W] and mask [M, H, W] left to right (torchvision's hflip). Not differentiable; the
/// inputs are not changed.
///
/// Returns UNETSEG_STATUS_OK and new handles in *out_image and *out_mask (free both with
/// unetseg_tensor_free), or UNETSEG_STATUS_INVALID_ARGUMENT for a NULL, a dead handle or shapes that do not
/// fit.
@c public func unetseg_augmentation_hflip(_ image: UnsafePointer<unetseg_tensor>?, _ mask: UnsafePointer<unetseg_tensor>?,
                                          _ out_image: TensorOut?, _ out_mask: TensorOut?) -> Int32 {
    augmenting(image, mask, out_image, out_mask, function: #function) { (i, m) throws(UnetsegError) in
        try Augmentation.hflip(i, m)
    }
}

/// unetseg_augmentation_resize by a factor drawn from U(1 - scale, 1 + scale) (the post's 0.05), scale in
/// [0, 1). Draws one number from the global generator (unetseg_manual_seed).
///
/// Returns UNETSEG_STATUS_OK and new handles in *out_image and *out_mask (free both with
/// unetseg_tensor_free), or UNETSEG_STATUS_INVALID_ARGUMENT as unetseg_augmentation_resize, or for scale out
/// of range.
@c public func unetseg_augmentation_random_resize(_ image: UnsafePointer<unetseg_tensor>?, _ mask: UnsafePointer<unetseg_tensor>?,
                                                  _ scale: Float, _ out_image: TensorOut?, _ out_mask: TensorOut?) -> Int32 {
    augmenting(image, mask, out_image, out_mask, function: #function) { (i, m) throws(UnetsegError) in
        try RandomAugmentation.resize(i, m, scale: scale)
    }
}

/// unetseg_augmentation_rotate by an angle drawn from U(-angle, angle) degrees (the post's 15), angle >= 0.
/// Draws one number from the global generator (unetseg_manual_seed).
///
/// Returns UNETSEG_STATUS_OK and new handles in *out_image and *out_mask (free both with
/// unetseg_tensor_free), or UNETSEG_STATUS_INVALID_ARGUMENT as unetseg_augmentation_rotate, or for a
/// negative or infinite angle.
@c public func unetseg_augmentation_random_rotate(_ image: UnsafePointer<unetseg_tensor>?, _ mask: UnsafePointer<unetseg_tensor>?,
                                                  _ angle: Float, _ out_image: TensorOut?, _ out_mask: TensorOut?) -> Int32 {
    augmenting(image, mask, out_image, out_mask, function: #function) { (i, m) throws(UnetsegError) in
        try RandomAugmentation.rotate(i, m, angle: angle)
    }
}

/// unetseg_augmentation_hflip with probability flip (the post's 0.5), in [0, 1]; otherwise copies. Draws
/// one number from the global generator (unetseg_manual_seed).
///
/// Returns UNETSEG_STATUS_OK and new handles in *out_image and *out_mask (free both with
/// unetseg_tensor_free), or UNETSEG_STATUS_INVALID_ARGUMENT as unetseg_augmentation_hflip, or for a
/// probability outside [0, 1].
@c public func unetseg_augmentation_random_flip(_ image: UnsafePointer<unetseg_tensor>?, _ mask: UnsafePointer<unetseg_tensor>?,
                                                _ flip: Float, _ out_image: TensorOut?, _ out_mask: TensorOut?) -> Int32 {
    augmenting(image, mask, out_image, out_mask, function: #function) { (i, m) throws(UnetsegError) in
        try RandomAugmentation.flip(i, m, probability: flip)
    }
}
