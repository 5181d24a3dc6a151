import CUNetSegTypes
import UNetNN
import UNetTensor
import _UNetSupport

// The post's losses on tensors: binary cross-entropy, dice, and their weighted sum.

/// Mean binary cross-entropy of prediction (probabilities in [0, 1]) against target (same shape, values
/// in [0, 1]), as torch's nnf_binary_cross_entropy (logs clamped at -100); a 0-dimensional tensor,
/// differentiable.
///
/// Returns UNETSEG_STATUS_OK and a new handle in *out_loss (free it with unetseg_tensor_free), or
/// UNETSEG_STATUS_INVALID_ARGUMENT for a NULL, a dead handle, shapes that differ or a prediction outside
/// [0, 1].
@c public func unetseg_loss_bce(_ prediction: UnsafePointer<unetseg_tensor>?, _ target: UnsafePointer<unetseg_tensor>?,
                                _ out_loss: TensorOut?) -> Int32 {
    returningTensor(out_loss, "out_loss") { () throws(UnetsegError) in
        try Handles.tensor(prediction, "prediction").binaryCrossEntropy(try Handles.tensor(target, "target"))
    }
}

/// The post's dice loss 1 - (2 sum(p t) + 1) / (sum(p) + sum(t) + 1) over the whole flattened batch; a
/// 0-dimensional tensor, differentiable.
///
/// Returns UNETSEG_STATUS_OK and a new handle in *out_loss (free it with unetseg_tensor_free), or
/// UNETSEG_STATUS_INVALID_ARGUMENT for a NULL, a dead handle or element counts that differ.
@c public func unetseg_loss_dice(_ prediction: UnsafePointer<unetseg_tensor>?, _ target: UnsafePointer<unetseg_tensor>?,
                                 _ out_loss: TensorOut?) -> Int32 {
    returningTensor(out_loss, "out_loss") { () throws(UnetsegError) in
        try diceLoss(try Handles.tensor(prediction, "prediction"), try Handles.tensor(target, "target"))
    }
}

/// The post's training loss: total = dice_weight * dice + (1 - dice_weight) * bce (dice_weight 0.3 in the
/// post), with its two parts; three 0-dimensional tensors, differentiable (back-propagate total).
///
/// Returns UNETSEG_STATUS_OK and three new handles in *out_total, *out_bce and *out_dice (free each with
/// unetseg_tensor_free); UNETSEG_STATUS_INVALID_ARGUMENT for a NULL, a dead handle, shapes that differ, a
/// prediction outside [0, 1] or a dice_weight outside [0, 1]. All three are NULL on failure.
@c public func unetseg_loss_combined(_ prediction: UnsafePointer<unetseg_tensor>?, _ target: UnsafePointer<unetseg_tensor>?,
                                     _ dice_weight: Float, _ out_total: TensorOut?, _ out_bce: TensorOut?,
                                     _ out_dice: TensorOut?) -> Int32 {
    withStatus { () throws(UnetsegError) in
        let outs = [try nonNull(out_total, "out_total"), try nonNull(out_bce, "out_bce"), try nonNull(out_dice, "out_dice")]
        for out in outs { out.pointee = nil }
        let loss = try segmentationLoss(try Handles.tensor(prediction, "prediction"), try Handles.tensor(target, "target"),
                                        diceWeight: dice_weight)
        let handles = [try Handles.register(loss.total), try Handles.register(loss.bce), try Handles.register(loss.dice)]
        for (out, handle) in zip(outs, handles) { out.pointee = handle }
    }
}
